// Opening PDFs with pdf.js: its worker, fonts and decoders are bundled with
// the app (nothing from a CDN), scripts in PDFs never run, and a failure
// comes back as words for the person (see `pdfProblem`).

import type { PDFDocumentProxy, PDFPageProxy } from "pdfjs-dist";
import type { TextItem } from "pdfjs-dist/types/src/display/api";
import type { getDocument } from "pdfjs-dist";
import { pdfProblem } from "./documents";

/** Where pdf.js finds its bundled assets (copied by vite.config.ts). */
export const PDF_ASSETS = {
  standardFontDataUrl: "/pdfjs/standard_fonts/",
  cMapUrl: "/pdfjs/cmaps/",
  wasmUrl: "/pdfjs/wasm/",
};

/** A PDF that could not be opened, with the reason in words. */
export class PdfError extends Error {
  constructor(
    message: string,
    readonly cause: unknown,
  ) {
    super(message);
  }
}

/**
 * Opens `data` with pdf.js's `getDocument` (the app passes the browser
 * build's, tests the Node build's). A password-protected file is refused
 * rather than prompting: adjudicators have no password to give.
 */
export async function openPdf(
  open: typeof getDocument,
  data: Uint8Array,
  assets: Partial<typeof PDF_ASSETS> = PDF_ASSETS,
): Promise<PDFDocumentProxy> {
  if (data.byteLength === 0) throw new PdfError("The file is empty (0 bytes).", null);
  const task = open({
    data,
    isEvalSupported: false,
    enableXfa: false,
    ...assets,
  });
  try {
    return await task.promise;
  } catch (e) {
    void task.destroy();
    throw new PdfError(pdfProblem(e), e);
  }
}

/**
 * A page's text items, read from pdf.js's text stream by hand: its own
 * `getTextContent` iterates the stream with `for await`, which the WebKitGTK
 * of current Linux desktops does not support.
 */
export async function textItems(page: PDFPageProxy): Promise<TextItem[]> {
  const reader = page.streamTextContent().getReader();
  const items: TextItem[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return items;
    for (const item of (value as { items: unknown[] }).items) if (typeof item === "object" && item && "str" in item) items.push(item as TextItem);
  }
}
