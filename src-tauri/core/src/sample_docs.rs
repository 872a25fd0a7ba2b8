//! Real document files for the demo data: PDFs with a text layer (a
//! CMS-1500-style claim form over two pages, an EOB), a multi-page TIFF of a
//! faxed record and a JPEG photo of an ID card. Written by hand-rolled
//! encoders (PDF) and small pure-Rust ones (TIFF, JPEG), so the seed needs no
//! system libraries.

use std::fmt::Write as _;
use std::io::Cursor;

/// Separates pages in a document's text, as OCR engines write it (form feed).
pub const PAGE_BREAK: char = '\u{c}';

/// A generated file with what the document table records about it.
pub struct SampleDoc {
    /// File bytes.
    pub bytes: Vec<u8>,
    /// MIME type.
    pub mime: &'static str,
    /// Pages.
    pub pages: i32,
    /// The text a reader (or OCR) gets from it.
    pub text: String,
}

/// One page of text lines and boxes, in PDF points from the bottom left.
#[derive(Default)]
pub struct Page {
    texts: Vec<(f32, f32, f32, bool, String)>,
    boxes: Vec<(f32, f32, f32, f32)>,
}

impl Page {
    /// Adds text at (x, y) in `size` points, bold or not.
    pub fn text(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        s: impl Into<String>,
    ) -> &mut Self {
        self.texts.push((x, y, size, bold, s.into()));
        self
    }
    /// Adds a rectangle outline.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) -> &mut Self {
        self.boxes.push((x, y, w, h));
        self
    }
}

/// Writes a PDF 1.4 file with Helvetica text (a real text layer) and boxes.
pub fn pdf(pages: &[Page]) -> SampleDoc {
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    let n = pages.len();
    // Objects: 1 catalog, 2 pages, 3 font, 4 bold font, then page + content per page.
    let page_obj = |i: usize| 5 + 2 * i;
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n)
                .map(|i| format!("{} 0 R", page_obj(i)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .into(),
    ];
    let mut text = String::new();
    for (i, page) in pages.iter().enumerate() {
        if i > 0 {
            text.push(PAGE_BREAK);
        }
        let mut stream = String::from("0.2 w\n");
        for (x, y, w, h) in &page.boxes {
            let _ = writeln!(stream, "{x:.1} {y:.1} {w:.1} {h:.1} re S");
        }
        for (x, y, size, bold, s) in &page.texts {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('(', "\\(")
                .replace(')', "\\)");
            let font = if *bold { "F2" } else { "F1" };
            let _ = writeln!(
                stream,
                "BT /{font} {size:.1} Tf {x:.1} {y:.1} Td ({escaped}) Tj ET"
            );
            text.push_str(s);
            text.push('\n');
        }
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            page_obj(i) + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{stream}endstream",
            stream.len()
        ));
    }
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in &offsets {
        let _ = writeln!(tail, "{o:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(tail.as_bytes());
    SampleDoc {
        bytes: out,
        mime: "application/pdf",
        pages: n as i32,
        text,
    }
}

/// 5x7 bitmap glyphs for the raster documents (upper case, digits, a few marks).
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '$' => [0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        _ => [0; 7],
    }
}

/// A grey-scale raster with a blocky typewriter font.
struct Raster {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Raster {
    fn new(w: usize, h: usize, shade: u8) -> Self {
        Self {
            w,
            h,
            px: vec![shade; w * h],
        }
    }
    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, v: u8) {
        for yy in y..(y + h).min(self.h) {
            for xx in x..(x + w).min(self.w) {
                self.px[yy * self.w + xx] = v;
            }
        }
    }
    fn write(&mut self, x: usize, y: usize, scale: usize, ink: u8, s: &str) {
        for (i, c) in s.chars().enumerate() {
            let g = glyph(c);
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.fill(
                            x + (i * 6 + col) * scale,
                            y + row * scale,
                            scale,
                            scale,
                            ink,
                        );
                    }
                }
            }
        }
    }
}

/// A multi-page TIFF (8-bit grey, LZW), like a faxed medical record.
pub fn tiff(pages: &[Vec<String>]) -> SampleDoc {
    let mut out = Cursor::new(Vec::new());
    let mut encoder = tiff::encoder::TiffEncoder::new(&mut out)
        .expect("in-memory TIFF")
        .with_compression(tiff::encoder::Compression::Lzw);
    let mut text = String::new();
    for (i, lines) in pages.iter().enumerate() {
        if i > 0 {
            text.push(PAGE_BREAK);
        }
        let mut r = Raster::new(816, 1056, 250);
        // A faint fax header band and page border.
        r.fill(0, 0, 816, 18, 200);
        r.fill(30, 40, 756, 2, 40);
        r.fill(30, 1010, 756, 2, 40);
        for (i, line) in lines.iter().enumerate() {
            r.write(48, 70 + i * 34, 3, 25, line);
            text.push_str(line);
            text.push('\n');
        }
        encoder
            .write_image::<tiff::encoder::colortype::Gray8>(r.w as u32, r.h as u32, &r.px)
            .expect("in-memory TIFF page");
    }
    SampleDoc {
        bytes: out.into_inner(),
        mime: "image/tiff",
        pages: pages.len() as i32,
        text,
    }
}

/// A JPEG photo of a member ID card.
pub fn jpeg(lines: &[String]) -> SampleDoc {
    let (w, h) = (640usize, 400usize);
    let mut grey = Raster::new(w, h, 235);
    grey.fill(20, 20, 600, 360, 250);
    grey.fill(20, 20, 600, 60, 70);
    grey.write(40, 38, 4, 250, "MEMBER ID CARD");
    for (i, line) in lines.iter().enumerate() {
        grey.write(40, 110 + i * 40, 3, 30, line);
    }
    // Tint it like a photo of a blue card.
    let mut rgb = Vec::with_capacity(w * h * 3);
    for v in &grey.px {
        rgb.extend_from_slice(&[v.saturating_sub(20), v.saturating_sub(8), *v]);
    }
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 85)
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("in-memory JPEG");
    SampleDoc {
        bytes,
        mime: "image/jpeg",
        pages: 1,
        text: lines.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_has_a_valid_xref_and_a_text_layer() {
        let mut p1 = Page::default();
        p1.text(40.0, 740.0, 14.0, true, "CLAIM (1500)")
            .rect(36.0, 700.0, 540.0, 30.0);
        let doc = pdf(&[p1, Page::default()]);
        let s = String::from_utf8_lossy(&doc.bytes);
        assert!(s.starts_with("%PDF-1.4") && s.trim_end().ends_with("%%EOF"));
        assert!(s.contains("(CLAIM \\(1500\\)) Tj"));
        assert_eq!(doc.pages, 2);
        // startxref points at the xref table.
        let at: usize = s
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(doc.bytes[at..].starts_with(b"xref"));
        // Every object offset in the table points at "N 0 obj".
        let table: Vec<usize> = s[at..]
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .map(|l| l[..10].parse().unwrap())
            .collect();
        for (i, off) in table.iter().enumerate() {
            assert!(doc.bytes[*off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()));
        }
    }

    #[test]
    fn tiff_has_every_page_and_jpeg_decodes_as_jpeg() {
        let doc = tiff(&[
            vec!["PAGE ONE".into()],
            vec!["PAGE TWO".into()],
            vec!["PAGE 3".into()],
        ]);
        let mut decoder = tiff::decoder::Decoder::new(Cursor::new(&doc.bytes)).unwrap();
        let mut pages = 1;
        while decoder.more_images() {
            decoder.next_image().unwrap();
            pages += 1;
        }
        assert_eq!(pages, 3);
        let photo = jpeg(&["ID 123".into()]);
        assert_eq!(&photo.bytes[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!(photo.mime, "image/jpeg");
    }
}
