//! Streaming segment reader: bounded memory whatever the file's size.
//!
//! An interchange declares its own separators in its ISA (element separator
//! at byte 4, repetition separator in ISA11, component separator in ISA16 and
//! the segment terminator right after it), and a file may hold several
//! interchanges with different separators, so they are read afresh at every
//! ISA. Line breaks and spaces between segments are ignored, as translators
//! do.

use std::io::{self, Read};

/// A segment longer than this is not X12 (binary data, or a file without
/// its terminators): reading stops instead of buffering it.
pub const MAX_SEGMENT: usize = 64 * 1024;

/// The delimiters an interchange declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    /// Between elements (ISA byte 4).
    pub element: u8,
    /// Between the components of a composite (ISA16).
    pub component: u8,
    /// Between repetitions (ISA11 in 00501).
    pub repetition: u8,
    /// After each segment.
    pub segment: u8,
}

impl Separators {
    /// What this product writes: `*`, `:`, `^`, `~`.
    pub const STANDARD: Self = Self {
        element: b'*',
        component: b':',
        repetition: b'^',
        segment: b'~',
    };
}

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("the file could not be read: {0}")]
    Io(#[from] io::Error),
    /// No segment terminator within [`MAX_SEGMENT`] bytes.
    #[error("segment {ordinal} runs past {MAX_SEGMENT} bytes without a segment terminator")]
    SegmentTooLong {
        /// 1-based segment count in the file.
        ordinal: u64,
    },
    /// An ISA whose separators cannot be found.
    #[error("the ISA at byte {offset} does not declare its separators ({why})")]
    BadIsa {
        /// Byte offset of the ISA.
        offset: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// Data before the first ISA.
    #[error("the file does not start with an ISA interchange header (it starts with {start:?})")]
    NotAnInterchange {
        /// The first few printable characters.
        start: String,
    },
}

/// One segment, borrowed from the reader's buffer until the next call.
#[derive(Clone, Copy)]
pub struct Segment<'a> {
    raw: &'a [u8],
    bounds: &'a [(u32, u32)],
    /// The interchange's separators.
    pub separators: Separators,
    /// 1-based count of segments in the file.
    pub ordinal: u64,
    /// Byte offset of the segment in the file.
    pub offset: u64,
    /// The ISA it belongs to is not the fixed 106 bytes the standard says.
    pub isa_length_error: Option<usize>,
}

impl<'a> Segment<'a> {
    /// The segment id (`CLM`, `NM1`).
    pub fn id(&self) -> &'a [u8] {
        self.field(0)
    }

    /// The segment id as text (empty when not ASCII).
    pub fn id_str(&self) -> &'a str {
        std::str::from_utf8(self.id()).unwrap_or("")
    }

    /// Number of data elements (the id not counted), trailing empties included.
    pub fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    /// True when the segment has no data elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn field(&self, i: usize) -> &'a [u8] {
        match self.bounds.get(i) {
            Some(&(s, e)) => &self.raw[s as usize..e as usize],
            None => &[],
        }
    }

    /// Element `n` (1-based), empty when absent.
    pub fn element(&self, n: usize) -> &'a [u8] {
        self.field(n)
    }

    /// Element `n` as text; bytes that are not UTF-8 give an empty string
    /// (the validator reports them as invalid characters).
    pub fn text(&self, n: usize) -> &'a str {
        std::str::from_utf8(self.element(n)).unwrap_or("")
    }

    /// Component `c` (1-based) of element `n`.
    pub fn component(&self, n: usize, c: usize) -> &'a str {
        let e = self.element(n);
        let piece = e
            .split(|&b| b == self.separators.component)
            .nth(c - 1)
            .unwrap_or(&[]);
        std::str::from_utf8(piece).unwrap_or("")
    }

    /// The components of element `n`.
    pub fn components(&self, n: usize) -> impl Iterator<Item = &'a str> {
        let comp = self.separators.component;
        self.element(n)
            .split(move |&b| b == comp)
            .map(|p| std::str::from_utf8(p).unwrap_or(""))
    }

    /// The whole segment's bytes, without its terminator.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

/// Reads segments from any `Read`, a chunk at a time.
pub struct SegmentReader<R: Read> {
    inner: R,
    buf: Vec<u8>,
    /// Start of unread data in `buf`.
    start: usize,
    /// End of valid data in `buf`.
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    separators: Option<Separators>,
    isa_length_error: Option<usize>,
    ordinal: u64,
    bounds: Vec<(u32, u32)>,
    started: bool,
}

const CHUNK: usize = 256 * 1024;

impl<R: Read> SegmentReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; CHUNK + MAX_SEGMENT],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            separators: None,
            isa_length_error: None,
            ordinal: 0,
            bounds: Vec::with_capacity(64),
            started: false,
        }
    }

    /// Bytes consumed so far (for progress).
    pub fn consumed(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Makes at least `want` bytes available from `start` unless the input
    /// ends first.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        while self.end - self.start < want && !self.eof {
            if self.start > 0 && (self.buf.len() - self.end) < CHUNK / 4 {
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let len = self.buf.len();
                self.buf.resize(len + CHUNK, 0);
            }
            let n = self.inner.read(&mut self.buf[self.end..])?;
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
        Ok(())
    }

    fn skip_blanks(&mut self) -> io::Result<()> {
        loop {
            while self.start < self.end
                && matches!(self.buf[self.start], b' ' | b'\r' | b'\n' | b'\t' | 0)
            {
                self.start += 1;
            }
            if self.start < self.end || self.eof {
                return Ok(());
            }
            self.fill(1)?;
        }
    }

    /// The next segment, or `None` at the end of the input.
    pub fn next_segment(&mut self) -> Result<Option<Segment<'_>>, ReadError> {
        if !self.started {
            self.fill(3)?;
            // A UTF-8 byte order mark is tolerated.
            if self.buf[self.start..self.end].starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.start += 3;
            }
            self.started = true;
        }
        self.skip_blanks()?;
        if self.start >= self.end {
            return Ok(None);
        }
        self.fill(3)?;
        if self.buf[self.start..self.end].starts_with(b"ISA") {
            self.read_isa()?;
        }
        let Some(seps) = self.separators else {
            let head = &self.buf[self.start..self.end.min(self.start + 24)];
            let start = head
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '?'
                    }
                })
                .collect();
            return Err(ReadError::NotAnInterchange { start });
        };
        // Find the terminator, reading more as needed, up to MAX_SEGMENT.
        let mut scanned = 0;
        let stop = loop {
            let hay = &self.buf[self.start + scanned..self.end];
            if let Some(i) = memchr::memchr(seps.segment, hay) {
                break self.start + scanned + i;
            }
            scanned = self.end - self.start;
            if scanned > MAX_SEGMENT {
                return Err(ReadError::SegmentTooLong {
                    ordinal: self.ordinal + 1,
                });
            }
            if self.eof {
                // The last segment lacks its terminator: give it anyway, the
                // envelope check reports the missing trailer.
                break self.end;
            }
            self.fill(scanned + CHUNK.min(MAX_SEGMENT))?;
        };
        if stop - self.start > MAX_SEGMENT {
            return Err(ReadError::SegmentTooLong {
                ordinal: self.ordinal + 1,
            });
        }
        let seg_start = self.start;
        let mut seg_end = stop;
        // A terminator of \n may leave a \r before it.
        if seps.segment == b'\n' && seg_end > seg_start && self.buf[seg_end - 1] == b'\r' {
            seg_end -= 1;
        }
        self.start = (stop + 1).min(self.end);
        self.ordinal += 1;
        self.bounds.clear();
        let raw = &self.buf[seg_start..seg_end];
        let mut from = 0u32;
        for i in memchr::memchr_iter(seps.element, raw) {
            self.bounds.push((from, i as u32));
            from = i as u32 + 1;
        }
        self.bounds.push((from, raw.len() as u32));
        Ok(Some(Segment {
            raw,
            bounds: &self.bounds,
            separators: seps,
            ordinal: self.ordinal,
            offset: self.base + seg_start as u64,
            isa_length_error: self.isa_length_error,
        }))
    }

    /// Reads the separators of the ISA at `start`. The standard fixes the
    /// ISA at 106 bytes; one that is not is still read by counting its 16
    /// element separators (so the TA1 can name the fault), and flagged.
    fn read_isa(&mut self) -> Result<(), ReadError> {
        self.fill(200)?;
        let offset = self.base + self.start as u64;
        let data = &self.buf[self.start..self.end];
        if data.len() < 4 {
            return Err(ReadError::BadIsa {
                offset,
                why: "the file ends inside it",
            });
        }
        let element = data[3];
        if element.is_ascii_alphanumeric() || element == b' ' {
            return Err(ReadError::BadIsa {
                offset,
                why: "its element separator is a letter, digit or space",
            });
        }
        let mut seen = 0;
        let mut at = None;
        let mut repetition = b'^';
        let mut last = 3;
        for (i, &b) in data.iter().enumerate().skip(3) {
            if b == element {
                seen += 1;
                if seen == 12 {
                    // ISA11 runs from the 11th separator to this one.
                    if i == last + 2 {
                        repetition = data[last + 1];
                    }
                }
                last = i;
                if seen == 16 {
                    at = Some(i);
                    break;
                }
            }
        }
        let Some(isa16) = at else {
            return Err(ReadError::BadIsa {
                offset,
                why: "it has fewer than 16 elements",
            });
        };
        if isa16 + 2 >= data.len() {
            return Err(ReadError::BadIsa {
                offset,
                why: "the file ends inside it",
            });
        }
        let component = data[isa16 + 1];
        let segment = data[isa16 + 2];
        if segment == element || segment == component || segment.is_ascii_alphanumeric() {
            return Err(ReadError::BadIsa {
                offset,
                why: "its segment terminator is missing or repeats another separator",
            });
        }
        self.separators = Some(Separators {
            element,
            component,
            repetition,
            segment,
        });
        // 106 bytes: 3 (ISA) + 16 separators + 16 elements summing to 87.
        self.isa_length_error = (isa16 + 2 != 105).then_some(isa16 + 3);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8]) -> Vec<String> {
        let mut r = SegmentReader::new(text);
        let mut out = Vec::new();
        while let Some(s) = r.next_segment().unwrap() {
            out.push(String::from_utf8_lossy(s.raw()).into_owned());
        }
        out
    }

    const ISA: &str = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*P*:~";

    #[test]
    fn reads_segments_with_line_breaks_between_them() {
        let text = format!("{ISA}\r\nGS*HC*A*B*20240101*1200*1*X*005010X222A1~\nST*837*0001~  \n");
        let segs = all(text.as_bytes());
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[2], "ST*837*0001");
    }

    #[test]
    fn separators_come_from_each_isa() {
        let other = ISA.replace('*', "|").replace(':', ">").replace('~', "\n");
        let text = format!("{ISA}IEA*0*000000001~{other}IEA|0|000000001\n");
        let mut r = SegmentReader::new(text.as_bytes());
        let first = r.next_segment().unwrap().unwrap().separators;
        assert_eq!(first, Separators::STANDARD);
        r.next_segment().unwrap();
        let second = r.next_segment().unwrap().unwrap();
        assert_eq!(second.separators.element, b'|');
        assert_eq!(second.separators.component, b'>');
        assert_eq!(second.separators.segment, b'\n');
        let iea = r.next_segment().unwrap().unwrap();
        assert_eq!(iea.id(), b"IEA");
        assert_eq!(iea.text(2), "000000001");
    }

    #[test]
    fn elements_and_components() {
        let text = format!("{ISA}SV1*HC:99213:25*100.5*UN*1***1:2~");
        let mut r = SegmentReader::new(text.as_bytes());
        r.next_segment().unwrap();
        let s = r.next_segment().unwrap().unwrap();
        assert_eq!(s.id_str(), "SV1");
        assert_eq!(s.component(1, 2), "99213");
        assert_eq!(s.components(7).collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(s.text(2), "100.5");
        assert_eq!(s.len(), 7);
        assert_eq!(s.text(9), "");
    }

    #[test]
    fn a_short_isa_is_read_and_flagged() {
        let short = ISA.replacen("*          *00", "*         *00", 1);
        let text = format!("{short}GS*HC~");
        let mut r = SegmentReader::new(text.as_bytes());
        let isa = r.next_segment().unwrap().unwrap();
        assert_eq!(isa.isa_length_error, Some(105));
        assert_eq!(r.next_segment().unwrap().unwrap().id(), b"GS");
    }

    #[test]
    fn garbage_is_refused_without_buffering_it_all() {
        let e = SegmentReader::new(&b"GS*HC*X~"[..])
            .next_segment()
            .err()
            .unwrap();
        assert!(matches!(e, ReadError::NotAnInterchange { .. }), "{e}");
        let mut big = ISA.as_bytes().to_vec();
        big.extend(std::iter::repeat_n(b'x', MAX_SEGMENT * 3));
        let mut r = SegmentReader::new(&big[..]);
        r.next_segment().unwrap();
        assert!(matches!(
            r.next_segment(),
            Err(ReadError::SegmentTooLong { ordinal: 2 })
        ));
        assert!(r.buf.len() <= CHUNK + MAX_SEGMENT + CHUNK);
    }

    #[test]
    fn segments_across_chunk_boundaries() {
        let mut text = String::from(ISA);
        for i in 0..50_000 {
            text.push_str(&format!("LX*{i}~"));
        }
        let segs = all(text.as_bytes());
        assert_eq!(segs.len(), 50_001);
        assert_eq!(segs[50_000], "LX*49999");
    }
}
