// What the document viewer computes without a window: file addresses, text
// search over OCR text and text layers, zoom arithmetic and the words for a
// file that cannot be shown.

import type { DocumentEntry_Serialize as DocumentEntry } from "./bindings";

/** OCR engines separate pages with a form feed; so does the seed. */
export const PAGE_BREAK = "\f";

/** A search hit: a page (from 1) and where on it. */
export interface Hit {
  page: number;
  start: number;
  end: number;
}

/** A hit with the words around it, for the list of hits across documents. */
export interface DocumentHit extends Hit {
  document: DocumentEntry;
  before: string;
  match: string;
  after: string;
}

/** The shortest query searched: one letter would light up the whole page. */
export const MIN_QUERY = 2;

/** Normalises for matching: case does not matter. */
function fold(s: string): string {
  return s.toLowerCase();
}

/** Where `query` occurs in each of `pages` (case-insensitive), in reading order. */
export function findInPages(pages: readonly string[], query: string): Hit[] {
  const q = fold(query.trim());
  if (q.length < MIN_QUERY) return [];
  const hits: Hit[] = [];
  pages.forEach((text, i) => {
    const t = fold(text);
    for (let at = t.indexOf(q); at >= 0; at = t.indexOf(q, at + q.length)) hits.push({ page: i + 1, start: at, end: at + q.length });
  });
  return hits;
}

/** A document's text split into pages. */
export function pagesOf(text: string | null | undefined): string[] {
  return text ? text.split(PAGE_BREAK) : [];
}

/** Hits in every document of a claim, with a snippet each, documents in order. */
export function searchDocuments(documents: readonly DocumentEntry[], query: string, context = 32): DocumentHit[] {
  return documents.flatMap((document) => {
    const pages = pagesOf(document.ocr_text);
    return findInPages(pages, query).map((h) => {
      const text = pages[h.page - 1];
      const from = Math.max(0, h.start - context);
      const to = Math.min(text.length, h.end + context);
      const flat = (s: string) => s.replace(/\s+/g, " ");
      return {
        ...h,
        document,
        before: (from > 0 ? "…" : "") + flat(text.slice(from, h.start)),
        match: text.slice(h.start, h.end),
        after: flat(text.slice(h.end, to)) + (to < text.length ? "…" : ""),
      };
    });
  });
}

/** Splits `text` into plain and matched runs, for `<mark>` highlighting. */
export function marked(text: string, query: string): { text: string; hit: boolean }[] {
  const hits = findInPages([text], query);
  const runs: { text: string; hit: boolean }[] = [];
  let at = 0;
  for (const h of hits) {
    if (h.start > at) runs.push({ text: text.slice(at, h.start), hit: false });
    runs.push({ text: text.slice(h.start, h.end), hit: true });
    at = h.end;
  }
  if (at < text.length) runs.push({ text: text.slice(at), hit: false });
  return runs;
}

export type Zoom = "fit-width" | "fit-page" | number;
export const ZOOM_STEPS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4];

/** The scale that draws a `w` × `h` page (at scale 1, before rotation) in a `boxW` × `boxH` box. */
export function scaleFor(zoom: Zoom, w: number, h: number, rotation: number, boxW: number, boxH: number): number {
  if (typeof zoom === "number") return zoom;
  const [pw, ph] = rotation % 180 === 0 ? [w, h] : [h, w];
  const byWidth = boxW / pw;
  return zoom === "fit-width" ? byWidth : Math.min(byWidth, boxH / ph);
}

/** The next zoom step in (`+1`) or out (`-1`) from the scale now shown. */
export function stepZoom(current: number, direction: 1 | -1): number {
  if (direction > 0) return ZOOM_STEPS.find((s) => s > current + 1e-6) ?? ZOOM_STEPS[ZOOM_STEPS.length - 1];
  return [...ZOOM_STEPS].reverse().find((s) => s < current - 1e-6) ?? ZOOM_STEPS[0];
}

/** Quarter turns, kept in 0–270. */
export function rotate(rotation: number, by: 90 | -90): number {
  return (rotation + by + 360) % 360;
}

/**
 * Why pdf.js could not open a PDF, in words the person can pass on to the
 * sender. pdf.js names its exceptions; nothing here parses messages.
 */
export function pdfProblem(error: unknown): string {
  const name = error instanceof Error || (typeof error === "object" && error !== null) ? (error as { name?: string }).name : undefined;
  switch (name) {
    case "PasswordException":
      return "This PDF is password-protected, so it cannot be shown. Ask the sender for an unprotected copy.";
    case "InvalidPDFException":
      return "This file is not a readable PDF: it is damaged or cut off.";
    case "MissingPDFException":
      return "The PDF could not be found on this computer. Open it again.";
    case "UnexpectedResponseException":
      return "The PDF could not be read from this computer's copy. Open it again.";
    default:
      return "This PDF could not be drawn. It may be damaged.";
  }
}

/** "1.2 MB", "340 KB". */
export function fileSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** Who the list shows as uploader of a file attached here and not yet sent. */
export const PENDING_UPLOADER = "you (waiting to sync)";

/** Kinds a person may attach, with their words (claim forms come with the claim). */
export const ATTACHABLE: ReadonlyArray<{ type: string; label: string }> = [
  { type: "correspondence", label: "Correspondence (a reply to a request)" },
  { type: "medical_record", label: "Medical record" },
  { type: "prior_authorization", label: "Prior authorization" },
  { type: "eob", label: "Another payer's EOB" },
  { type: "other", label: "Other" },
];

/** The file types the viewer shows, for the file picker. */
export const ATTACH_ACCEPT = ".pdf,.tif,.tiff,.png,.jpg,.jpeg,application/pdf,image/tiff,image/png,image/jpeg";

/** Largest file a claim takes (the app and central check again). */
export const MAX_ATTACHMENT = 25 * 1024 * 1024;

/** Bytes as base64, in chunks (a spread of megabytes would overflow the stack). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}
