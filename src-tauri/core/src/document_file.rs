//! Checking a document's file before it reaches the viewer, and turning TIFF
//! pages into PNG (browsers do not show TIFF).
//!
//! Files come from providers, fax gateways and scanners, so they are checked
//! as hostile: the content must be what the declared type says, PDFs must be
//! whole, and image dimensions are read from the headers and capped before
//! anything is decoded, so a small file that claims a huge image (a
//! decompression bomb) is refused instead of exhausting memory.

use std::io::Cursor;

use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;
use tiff::ColorType;

/// The file formats the viewer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// PDF, drawn by pdf.js in the viewer.
    Pdf,
    /// TIFF, one or more pages, drawn here as PNG page by page.
    Tiff,
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
}

impl Format {
    /// The format a MIME type names, if the viewer knows it.
    pub fn from_mime(mime: &str) -> Option<Self> {
        Some(match mime {
            "application/pdf" => Self::Pdf,
            "image/tiff" => Self::Tiff,
            "image/png" => Self::Png,
            "image/jpeg" => Self::Jpeg,
            _ => return None,
        })
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Tiff => "image/tiff",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    /// What the first bytes say the file is.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(b"\xff\xd8\xff") {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"II*\0")
            || bytes.starts_with(b"MM\0*")
            || bytes.starts_with(b"II+\0")
            || bytes.starts_with(b"MM\0+")
        {
            Some(Self::Tiff)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Tiff => "TIFF",
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
        }
    }
}

/// Largest image page the viewer decodes: 60 megapixels is a letter page
/// scanned at 800 dpi in colour, well past what a fax or scanner sends.
pub const MAX_PIXELS: u64 = 60_000_000;
/// Longest side, in pixels, whatever the area.
pub const MAX_SIDE: u32 = 30_000;
/// Most pages a TIFF may have (a long faxed record is a few hundred).
pub const MAX_PAGES: u32 = 2_000;

/// Why a file cannot be shown. Each says what is wrong in words the person
/// can pass on to whoever sent the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    /// Zero bytes.
    #[error("The file is empty (0 bytes).")]
    Empty,
    /// The record names a type the viewer does not show.
    #[error("The file's type ({0}) is not one the viewer shows.")]
    UnknownType(String),
    /// The content is another format, or none.
    #[error("The file is recorded as {declared} but its content is {found}.")]
    NotOfType {
        /// What the record says.
        declared: &'static str,
        /// What the bytes are.
        found: &'static str,
    },
    /// A PDF without its end: cut off in transfer or by a full disk.
    #[error(
        "The PDF is incomplete: it stops before its end, so it was cut off when sent or saved."
    )]
    Truncated,
    /// A TIFF compressed in a way the viewer cannot decode.
    #[error("The TIFF uses a compression the viewer cannot read ({0}).")]
    UnsupportedCompression(String),
    /// A TIFF with a pixel layout the viewer cannot draw.
    #[error("The TIFF uses a colour layout the viewer cannot draw ({0}).")]
    UnsupportedLayout(String),
    /// Dimensions past the caps: refused before decoding.
    #[error("The image claims {width} × {height} pixels, beyond what the viewer will decode.")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Decoding would need more memory than the decoder is allowed.
    #[error("The image needs more memory to decode than the viewer allows.")]
    PastLimits,
    /// More pages than [`MAX_PAGES`].
    #[error("The TIFF has more than {MAX_PAGES} pages.")]
    TooManyPages,
    /// The page asked for is not in the file.
    #[error("The file has no page {0}.")]
    NoSuchPage(u32),
    /// Damaged in a way the decoder found.
    #[error("The file is damaged and cannot be read.")]
    Damaged,
}

/// What a checked file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    /// Its format.
    pub format: Format,
    /// Pages, for images (always 1) and TIFFs. PDFs are counted by pdf.js,
    /// which reads them anyway.
    pub pages: Option<u32>,
}

/// Checks a file recorded as `mime` before it is shown.
pub fn inspect(mime: &str, bytes: &[u8]) -> Result<Inspected, FileProblem> {
    let declared = Format::from_mime(mime).ok_or_else(|| FileProblem::UnknownType(mime.into()))?;
    if bytes.is_empty() {
        return Err(FileProblem::Empty);
    }
    let found = Format::sniff(bytes);
    if found != Some(declared) {
        return Err(FileProblem::NotOfType {
            declared: declared.name(),
            found: found.map_or("not a file type the viewer knows", Format::name),
        });
    }
    let pages = match declared {
        Format::Pdf => {
            pdf_is_whole(bytes)?;
            None
        }
        Format::Png => {
            let (w, h) = png_size(bytes).ok_or(FileProblem::Damaged)?;
            within_caps(w, h)?;
            Some(1)
        }
        Format::Jpeg => {
            let (w, h) = jpeg_size(bytes).ok_or(FileProblem::Damaged)?;
            within_caps(w, h)?;
            Some(1)
        }
        Format::Tiff => Some(tiff_pages(bytes)?),
    };
    Ok(Inspected {
        format: declared,
        pages,
    })
}

fn within_caps(width: u32, height: u32) -> Result<(), FileProblem> {
    if width == 0 || height == 0 {
        return Err(FileProblem::Damaged);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(FileProblem::TooLarge { width, height });
    }
    Ok(())
}

/// A PDF ends with `startxref` and `%%EOF` (ISO 32000 7.5.5); a file cut off
/// in transfer has neither in its last bytes.
fn pdf_is_whole(bytes: &[u8]) -> Result<(), FileProblem> {
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    let has = |needle: &[u8]| tail.windows(needle.len()).any(|w| w == needle);
    if has(b"%%EOF") && has(b"startxref") {
        Ok(())
    } else {
        Err(FileProblem::Truncated)
    }
}

fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    // Signature, then the IHDR chunk: length, "IHDR", width, height.
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let be = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    Some((be(16)?, be(20)?))
}

fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    // Walk the marker segments to the first start-of-frame.
    let mut at = 2;
    loop {
        while *bytes.get(at)? != 0xff {
            at += 1;
        }
        while *bytes.get(at)? == 0xff {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        if matches!(marker, 0x01 | 0xd0..=0xd7) {
            continue;
        }
        if marker == 0xda || marker == 0xd9 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        if matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
            let h = u16::from_be_bytes([*bytes.get(at + 3)?, *bytes.get(at + 4)?]);
            let w = u16::from_be_bytes([*bytes.get(at + 5)?, *bytes.get(at + 6)?]);
            return Some((w.into(), h.into()));
        }
        at += len;
    }
}

fn tiff_decoder(bytes: &[u8]) -> Result<Decoder<Cursor<&[u8]>>, FileProblem> {
    // The decoder's own buffer limit backs up the dimension check: 4 bytes a
    // pixel at the pixel cap.
    let mut limits = Limits::default();
    limits.decoding_buffer_size = usize::try_from(MAX_PIXELS * 4).unwrap_or(usize::MAX);
    limits.intermediate_buffer_size = limits.decoding_buffer_size;
    Decoder::new(Cursor::new(bytes))
        .map(|d| d.with_limits(limits))
        .map_err(tiff_problem)
}

fn tiff_problem(e: tiff::TiffError) -> FileProblem {
    use tiff::{TiffError, TiffUnsupportedError};
    match e {
        TiffError::UnsupportedError(TiffUnsupportedError::UnsupportedCompressionMethod(m)) => {
            FileProblem::UnsupportedCompression(format!("{m:?}"))
        }
        TiffError::UnsupportedError(other) => FileProblem::UnsupportedLayout(other.to_string()),
        TiffError::LimitsExceeded => FileProblem::PastLimits,
        _ => FileProblem::Damaged,
    }
}

/// Checks the current TIFF page's size and compression before decoding it.
fn check_tiff_page(d: &mut Decoder<Cursor<&[u8]>>) -> Result<(), FileProblem> {
    let (w, h) = d.dimensions().map_err(tiff_problem)?;
    within_caps(w, h)?;
    // Compression codes the decoder reads (TIFF 6.0 and its supplements):
    // none, CCITT RLE/G3/G4 (fax), LZW, JPEG, Deflate and PackBits.
    let code = d
        .get_tag_u32(Tag::Compression)
        .ok()
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(1);
    if !matches!(code, 1..=5 | 7 | 8 | 32773 | 32946) {
        return Err(FileProblem::UnsupportedCompression(format!(
            "compression code {code}"
        )));
    }
    Ok(())
}

fn tiff_pages(bytes: &[u8]) -> Result<u32, FileProblem> {
    let mut d = tiff_decoder(bytes)?;
    let mut pages = 1;
    check_tiff_page(&mut d)?;
    while d.more_images() {
        d.next_image().map_err(tiff_problem)?;
        check_tiff_page(&mut d)?;
        pages += 1;
        if pages > MAX_PAGES {
            return Err(FileProblem::TooManyPages);
        }
    }
    Ok(pages)
}

/// Page `page` (from 1) of a TIFF as a PNG, after the same checks as
/// [`inspect`].
pub fn tiff_page_png(bytes: &[u8], page: u32) -> Result<Vec<u8>, FileProblem> {
    let mut d = tiff_decoder(bytes)?;
    for _ in 1..page.max(1) {
        if !d.more_images() {
            return Err(FileProblem::NoSuchPage(page));
        }
        d.next_image().map_err(tiff_problem)?;
    }
    check_tiff_page(&mut d)?;
    let (w, h) = d.dimensions().map_err(tiff_problem)?;
    let colour = d.colortype().map_err(tiff_problem)?;
    // Bilevel fax pages say whether 0 is white (the fax default) or black.
    let white_is_zero = d
        .get_tag_u32(Tag::PhotometricInterpretation)
        .is_ok_and(|p| p == 0);
    let image = d.read_image().map_err(tiff_problem)?;
    let (png_colour, pixels) = match (colour, image) {
        (ColorType::Gray(8), DecodingResult::U8(px)) => (
            png::ColorType::Grayscale,
            if white_is_zero {
                px.iter().map(|v| 255 - v).collect()
            } else {
                px
            },
        ),
        (ColorType::Gray(1), DecodingResult::U8(px)) => (
            png::ColorType::Grayscale,
            unpack_bits(&px, w, h, white_is_zero),
        ),
        (ColorType::Gray(16), DecodingResult::U16(px)) => (
            png::ColorType::Grayscale,
            px.iter().map(|v| (v >> 8) as u8).collect(),
        ),
        (ColorType::RGB(8), DecodingResult::U8(px)) => (png::ColorType::Rgb, px),
        (ColorType::RGBA(8), DecodingResult::U8(px)) => (png::ColorType::Rgba, px),
        (other, _) => return Err(FileProblem::UnsupportedLayout(format!("{other:?}"))),
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png_colour);
    encoder.set_depth(png::BitDepth::Eight);
    // Speed over size: the PNG only crosses to the webview in memory.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|_| FileProblem::Damaged)?;
    writer
        .write_image_data(&pixels)
        .map_err(|_| FileProblem::Damaged)?;
    writer.finish().map_err(|_| FileProblem::Damaged)?;
    Ok(out)
}

/// 1-bit rows (each padded to a byte) to 8-bit grey.
fn unpack_bits(packed: &[u8], w: u32, h: u32, white_is_zero: bool) -> Vec<u8> {
    let (w, h) = (w as usize, h as usize);
    let row_bytes = w.div_ceil(8);
    let mut out = Vec::with_capacity(w * h);
    for row in packed.chunks(row_bytes).take(h) {
        for x in 0..w {
            let bit = row.get(x / 8).is_some_and(|b| b & (0x80 >> (x % 8)) != 0);
            out.push(if bit != white_is_zero { 255 } else { 0 });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_docs;

    fn tiff_with(w: u32, h: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        tiff::encoder::TiffEncoder::new(&mut out)
            .unwrap()
            .write_image::<tiff::encoder::colortype::Gray8>(w, h, &vec![200u8; (w * h) as usize])
            .unwrap();
        out.into_inner()
    }

    /// Rewrites the Compression entry of a little-endian TIFF's first IFD.
    fn set_compression(mut bytes: Vec<u8>, code: u16) -> Vec<u8> {
        let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let n = u16::from_le_bytes(bytes[ifd..ifd + 2].try_into().unwrap()) as usize;
        for i in 0..n {
            let e = ifd + 2 + i * 12;
            if u16::from_le_bytes(bytes[e..e + 2].try_into().unwrap()) == 259 {
                bytes[e + 8..e + 10].copy_from_slice(&code.to_le_bytes());
                return bytes;
            }
        }
        panic!("no Compression entry");
    }

    /// Rewrites the width, height and rows-per-strip entries of a little-endian TIFF's first IFD.
    fn set_size(mut bytes: Vec<u8>, w: u32, h: u32) -> Vec<u8> {
        let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let n = u16::from_le_bytes(bytes[ifd..ifd + 2].try_into().unwrap()) as usize;
        for i in 0..n {
            let e = ifd + 2 + i * 12;
            let tag = u16::from_le_bytes(bytes[e..e + 2].try_into().unwrap());
            let kind = u16::from_le_bytes(bytes[e + 2..e + 4].try_into().unwrap());
            // One strip of all the rows, so the header stays consistent.
            let v = match tag {
                256 => w,
                257 | 278 => h,
                _ => continue,
            };
            if kind == 3 {
                bytes[e + 8..e + 10].copy_from_slice(&(v as u16).to_le_bytes());
            } else {
                bytes[e + 8..e + 12].copy_from_slice(&v.to_le_bytes());
            }
        }
        bytes
    }

    fn form_pdf() -> Vec<u8> {
        let mut page = sample_docs::Page::default();
        page.text(40.0, 740.0, 12.0, false, "PATIENT");
        sample_docs::pdf(&[page]).bytes
    }

    #[test]
    fn good_files_pass_with_their_page_counts() {
        let pdf = form_pdf();
        assert_eq!(
            inspect("application/pdf", &pdf),
            Ok(Inspected {
                format: Format::Pdf,
                pages: None
            })
        );
        let tiff = sample_docs::tiff(&[vec!["ONE".into()], vec!["TWO".into()], vec![]]);
        assert_eq!(inspect("image/tiff", &tiff.bytes).unwrap().pages, Some(3));
        let jpeg = sample_docs::jpeg(&["ID".into()]);
        assert_eq!(inspect("image/jpeg", &jpeg.bytes).unwrap().pages, Some(1));
        assert_eq!(jpeg_size(&jpeg.bytes), Some((640, 400)));
        let png = tiff_page_png(&tiff.bytes, 2).unwrap();
        assert_eq!(inspect("image/png", &png).unwrap().pages, Some(1));
        assert_eq!(png_size(&png), Some((816, 1056)));
    }

    #[test]
    fn empty_truncated_and_mistyped_files_are_refused() {
        assert_eq!(inspect("application/pdf", b""), Err(FileProblem::Empty));
        let pdf = form_pdf();
        assert_eq!(
            inspect("application/pdf", &pdf[..pdf.len() / 2]),
            Err(FileProblem::Truncated)
        );
        let jpeg = sample_docs::jpeg(&["ID".into()]).bytes;
        assert_eq!(
            inspect("application/pdf", &jpeg),
            Err(FileProblem::NotOfType {
                declared: "PDF",
                found: "JPEG"
            })
        );
        assert!(matches!(
            inspect("image/png", b"hello, not an image"),
            Err(FileProblem::NotOfType {
                declared: "PNG",
                ..
            })
        ));
        assert_eq!(
            inspect("text/html", &pdf),
            Err(FileProblem::UnknownType("text/html".into()))
        );
    }

    #[test]
    fn unsupported_tiff_compression_is_named() {
        let tiff = set_compression(tiff_with(64, 64), 34712); // JPEG 2000
        assert!(matches!(
            inspect("image/tiff", &tiff),
            Err(FileProblem::UnsupportedCompression(_))
        ));
        assert!(tiff_page_png(&tiff, 1).is_err());
        assert!(
            FileProblem::UnsupportedCompression("compression code 34712".into())
                .to_string()
                .contains("34712")
        );
    }

    #[test]
    fn huge_dimensions_are_refused_before_decoding() {
        // 64 × 64 pixels of data, headers claiming 100,000 × 100,000.
        let bomb = set_size(tiff_with(64, 64), 100_000, 100_000);
        assert_eq!(
            inspect("image/tiff", &bomb),
            Err(FileProblem::TooLarge {
                width: 100_000,
                height: 100_000
            })
        );
        assert!(matches!(
            tiff_page_png(&bomb, 1),
            Err(FileProblem::TooLarge { .. })
        ));
        // A PNG header claiming 50,000 × 50,000 (2.5 gigapixels).
        let mut png = tiff_page_png(&tiff_with(8, 8), 1).unwrap();
        png[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        assert!(matches!(
            inspect("image/png", &png),
            Err(FileProblem::TooLarge { .. })
        ));
        // Within the side cap but past the pixel cap.
        assert_eq!(
            within_caps(10_000, 10_000),
            Err(FileProblem::TooLarge {
                width: 10_000,
                height: 10_000
            })
        );
    }

    #[test]
    fn tiff_pages_become_png_with_fax_polarity() {
        let tiff = sample_docs::tiff(&[vec!["ONE".into()], vec!["TWO".into()]]);
        let png = tiff_page_png(&tiff.bytes, 2).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        assert_eq!(
            tiff_page_png(&tiff.bytes, 3),
            Err(FileProblem::NoSuchPage(3))
        );
        // A fax row: 0 bits are white when WhiteIsZero.
        assert_eq!(unpack_bits(&[0b1000_0000], 2, 1, true), vec![0, 255]);
        assert_eq!(unpack_bits(&[0b1000_0000], 2, 1, false), vec![255, 0]);
    }
}
