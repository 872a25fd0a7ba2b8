import { describe, expect, it } from "vitest";
import type { DocumentEntry_Serialize as DocumentEntry } from "./bindings";
import { toBase64, fileSize, findInPages, marked, pagesOf, pdfProblem, rotate, scaleFor, searchDocuments, stepZoom } from "./documents";

const doc = (id: string, ocr: string | null): DocumentEntry => ({
  id,
  document_type: "medical_record",
  file_name: `${id}.tif`,
  mime_type: "image/tiff",
  size_bytes: 2048,
  page_count: 2,
  ocr_text: ocr,
  uploaded_by: "intake",
  uploaded_at: "2026-11-16T10:00:00Z",
});

describe("searching document text", () => {
  it("finds every match, case-insensitively, on the right page", () => {
    const pages = pagesOf("PROGRESS NOTE\nassessment\fASSESSMENT AND PLAN\nassessment again");
    expect(pages).toHaveLength(2);
    expect(findInPages(pages, "Assessment")).toEqual([
      { page: 1, start: 14, end: 24 },
      { page: 2, start: 0, end: 10 },
      { page: 2, start: 20, end: 30 },
    ]);
    expect(findInPages(pages, " a")).toEqual(findInPages(pages, "a")); // trimmed, then too short
    expect(findInPages(pages, "x")).toEqual([]);
  });

  it("lists hits across a claim's documents with the words around them", () => {
    const hits = searchDocuments([doc("a", "DX: R10.9 ABDOMINAL PAIN"), doc("b", null), doc("c", "page one\fSEE R10.9")], "r10.9", 4);
    expect(hits.map((h) => [h.document.id, h.page])).toEqual([
      ["a", 1],
      ["c", 2],
    ]);
    expect(hits[0]).toMatchObject({ before: "DX: ", match: "R10.9", after: " ABD…" });
    expect(hits[1]).toMatchObject({ before: "SEE ", match: "R10.9", after: "" });
  });

  it("splits text into marked and plain runs", () => {
    expect(marked("a Plan and a plan", "plan")).toEqual([
      { text: "a ", hit: false },
      { text: "Plan", hit: true },
      { text: " and a ", hit: false },
      { text: "plan", hit: true },
    ]);
  });
});

describe("zoom and rotation", () => {
  it("fits a page to the width or whole, turned or not", () => {
    expect(scaleFor("fit-width", 612, 792, 0, 306, 1000)).toBe(0.5);
    expect(scaleFor("fit-page", 612, 792, 0, 612, 396)).toBe(0.5);
    // A quarter turn: the page's height now spans the width.
    expect(scaleFor("fit-width", 612, 792, 90, 396, 1000)).toBe(0.5);
    expect(scaleFor(1.5, 612, 792, 0, 10, 10)).toBe(1.5);
  });

  it("steps zoom from the scale shown and turns in quarters", () => {
    expect(stepZoom(0.8, 1)).toBe(1);
    expect(stepZoom(0.8, -1)).toBe(0.75);
    expect(stepZoom(4, 1)).toBe(4);
    expect(stepZoom(0.25, -1)).toBe(0.25);
    expect(rotate(270, 90)).toBe(0);
    expect(rotate(0, -90)).toBe(270);
  });
});

describe("words for files that cannot be shown", () => {
  it("names pdf.js's exceptions in plain words", () => {
    expect(pdfProblem({ name: "PasswordException" })).toMatch(/password-protected/);
    expect(pdfProblem({ name: "InvalidPDFException" })).toMatch(/damaged or cut off/);
    expect(pdfProblem(new Error("boom"))).toMatch(/could not be drawn/);
    expect(fileSize(2048)).toBe("2 KB");
    expect(fileSize(3 * 1024 * 1024)).toBe("3.0 MB");
  });
});

describe("attachments", () => {
  it("encodes files of megabytes as base64", () => {
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7919) % 256);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
  });
});
