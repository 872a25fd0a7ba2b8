// @vitest-environment node
// pdf.js's own Node build, on PDFs written here: a good one with a text
// layer, a password-protected one and a damaged one.
import { describe, expect, it } from "vitest";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";
import { openPdf, PdfError, textItems } from "./pdf";

/** A one-page PDF with `text` in Helvetica; `trailerExtra` goes into the trailer. */
function pdf(text: string, trailerExtra = "", extraObjects: string[] = []): Uint8Array {
  const content = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    ...extraObjects,
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const at of offsets) out += `${String(at).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R ${trailerExtra}>>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out);
}

const hex = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ((i * 37 + seed) % 256).toString(16).padStart(2, "0")).join("");

const noAssets = {};

describe("openPdf", () => {
  it("opens a PDF and reads its text layer", async () => {
    const doc = await openPdf(getDocument, pdf("PATIENT: OKAFOR, ADA"), noAssets);
    expect(doc.numPages).toBe(1);
    const items = await textItems(await doc.getPage(1));
    expect(items.map((i) => i.str).join("")).toContain("OKAFOR");
    // Positions come with the text, for highlighting.
    expect(items.find((i) => i.str.includes("OKAFOR"))?.transform.slice(4)).toEqual([72, 720]);
    await doc.destroy();
  });

  it("refuses a password-protected PDF in plain words", async () => {
    // Standard security handler, revision 3; /U does not match the empty
    // password, so a password is needed and none is given.
    const encrypt = `<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <${hex(32, 1)}> /U <${hex(32, 2)}> >>`;
    const locked = pdf("SECRET", `/Encrypt 6 0 R /ID [<${hex(16, 3)}> <${hex(16, 3)}>] `, [encrypt]);
    const error = await openPdf(getDocument, locked, noAssets).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdfError);
    expect((error as PdfError).message).toMatch(/password-protected/);
  });

  it("refuses an empty file and a damaged one", async () => {
    await expect(openPdf(getDocument, new Uint8Array(), noAssets)).rejects.toThrow(/empty/);
    const damaged = new TextEncoder().encode("%PDF-1.4\nthis is not a PDF body at all");
    const error = await openPdf(getDocument, damaged, noAssets).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdfError);
    expect((error as PdfError).message).toMatch(/not a readable PDF|damaged/);
  });
});
