// The document viewer on the real window: a claim's two-page CMS-1500 PDF
// drawn by pdf.js, a text search that lands on the right page with the hit
// highlighted, the pages of a faxed TIFF, a damaged file refused in plain
// words, a reply attached through the outbox, a copy exported (and
// audited), and the PDF opened again from this computer's encrypted copy
// with central stopped. Every view reaches central's audit trail.
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, database, launchApp, screenshot, signIn, sql, until, type RunningApp } from "../support/app";
import { writePdf } from "../support/pdf";

const USER = process.env.CLAIMDESK_E2E_USER ?? "demo";
const PASSWORD = process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password";

type B = RunningApp["browser"];


async function pageLabel(b: B): Promise<string> {
  return byTestId(b, "viewer-page").getText();
}

/** Clicks the document named `file` in the claim's document list. */
async function openFile(b: B, file: string): Promise<void> {
  const button = await b.$(`//button[@data-testid="document-open"][normalize-space()="${file}"]`);
  await button.scrollIntoView({ block: "center" });
  await button.click();
}

describe("documents", () => {
  let app: RunningApp;
  let claim: { id: string; number: string; pdf: string; pdfId: string; tiff: string; cut: string };

  beforeAll(async () => {
    // A queued claim with a CMS-1500 PDF and a faxed TIFF, put at the head
    // of the queue so N takes it, plus a PDF that was cut off in transfer.
    const [id, number, pdf, pdfId, tiff] = sql(
      `SELECT c.id, c.claim_number, p.file_name, p.id, t.file_name
       FROM claimdesk.document p
       JOIN claimdesk.document t ON t.claim_id = p.claim_id AND t.mime_type = 'image/tiff'
       JOIN claimdesk.claim c ON c.id = p.claim_id
       JOIN claimdesk.queue_entry q ON q.claim_id = c.id
       WHERE p.document_type = 'cms1500' AND NOT q.pended AND NOT q.restricted AND q.lease_holder IS NULL
       ORDER BY c.id LIMIT 1`,
    ).split("|");
    expect(id, "the seed has a queued claim with a PDF and a TIFF").toBeTruthy();
    sql(
      `UPDATE claimdesk.queue_entry SET priority_rank = 0, prompt_pay_due = '2000-01-01', received_at = '2000-01-01'
       WHERE claim_id = '${id}'`,
    );
    const cut = `cut-off-${number}.pdf`;
    sql(
      `WITH f AS (SELECT convert_to('%PDF-1.4' || chr(10) || '1 0 obj << /Type /Catalog', 'UTF8') AS b),
            c AS (INSERT INTO claimdesk.document_content (sha256, content) SELECT sha256(b), b FROM f
                  ON CONFLICT DO NOTHING)
       INSERT INTO claimdesk.document (id, claim_id, document_type, file_name, mime_type, size_bytes, sha256, uploaded_by)
       SELECT gen_random_uuid(), '${id}', 'correspondence', '${cut}', 'application/pdf', length(b), sha256(b), 'fax-gateway' FROM f`,
    );
    claim = { id, number, pdf, pdfId, tiff, cut };
    app = await launchApp();
    await signIn(app.browser, USER, PASSWORD);
  });

  afterAll(async () => {
    database("start");
    await app?.stop();
  });

  it("shows the CMS-1500 beside the claim and records the view on central", async () => {
    const b = app.browser;
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 20_000 });
    await b.execute(() => (document.querySelector('[data-testid="queue-body"]') as HTMLElement).focus());
    await b.keys("n");
    await until(b, async () => (await byTestId(b, "workspace-claim-number").getText()) === claim.number, "N did not take the arranged claim");
    await openFile(b, claim.pdf);
    await byTestId(b, "viewer-canvas").waitForDisplayed({ timeout: 15_000 });
    await until(b, async () => (await pageLabel(b)) === "Page 1 of 2", "the PDF's pages were not counted");
    // pdf.js drew something: the canvas is not blank.
    await until(
      b,
      () =>
        b.execute(() => {
          const c = document.querySelector('[data-testid="viewer-canvas"]') as HTMLCanvasElement;
          const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < px.length; i += 4) if (px[i] < 128) return true;
          return false;
        }),
      "the PDF page is blank",
    );
    // Split view: scrolled back to the claim's lines, the document stays beside them.
    await byTestId(b, "lines").scrollIntoView({ block: "center" });
    expect(await byTestId(b, "lines").isDisplayed({ withinViewport: true })).toBe(true);
    expect(await byTestId(b, "viewer-canvas").isDisplayed({ withinViewport: true })).toBe(true);
    await screenshot(b, "viewer-pdf");
    await until(
      b,
      () =>
        Number(
          sql(
            `SELECT count(*) FROM claimdesk.audit_log WHERE action = 'view' AND resource_type = 'document'
             AND resource_id = '${claim.pdfId}' AND db_user = '${USER}'`,
          ),
        ) > 0,
      "the document view never reached the audit trail",
      30_000,
    );
  });

  it("finds words in the text, jumps to their page and highlights them", async () => {
    const b = app.browser;
    await byTestId(b, "viewer").click();
    await b.keys("/");
    await until(b, () => b.execute(() => document.activeElement?.getAttribute("data-testid") === "viewer-search"), "/ did not focus the search");
    // (WebKitWebDriver drops the second of two equal keys in a row, so the
    // word has no doubled letter.)
    await b.keys("rendered");
    await until(b, async () => (await pageLabel(b)) === "Page 2 of 2", "the search did not go to page 2");
    // Highlighted on the drawn page itself, from the PDF's own text layer.
    await until(b, async () => (await b.$$('[data-testid="viewer-stage"] [data-testid="hit"]').length) > 0, "no highlight on the page");
    await until(b, async () => /searching the PDF's text/.test(await byTestId(b, "viewer-source").getText()), "the search did not use the PDF's text layer");
    expect(await byTestId(b, "viewer-hits").getText()).toBe("1 of 1");
    await screenshot(b, "viewer-search");
    await b.keys("Escape"); // leave the search box, keys drive the viewer again
    await b.keys("Home");
    await until(b, async () => (await pageLabel(b)) === "Page 1 of 2", "Home did not go to page 1");
  });

  it("flips the pages of the faxed TIFF", async () => {
    const b = app.browser;
    await openFile(b, claim.tiff);
    const image = byTestId(b, "viewer-image");
    await image.waitForDisplayed({ timeout: 15_000 });
    await until(b, async () => (await pageLabel(b)) === "Page 1 of 3", "the TIFF's pages were not counted");
    const loaded = () =>
      b.execute(() => {
        const img = document.querySelector('[data-testid="viewer-image"]') as HTMLImageElement | null;
        return !!img && img.complete && img.naturalWidth > 0 ? img.src : "";
      });
    await until(b, async () => /page=1$/.test(await loaded()), "page 1 of the TIFF did not load");
    await byTestId(b, "viewer").click();
    await b.keys("PageDown");
    await until(b, async () => (await pageLabel(b)) === "Page 2 of 3", "PageDown did not turn the page");
    await until(b, async () => /page=2$/.test(await loaded()), "page 2 of the TIFF did not load");
    await b.keys("]");
    await screenshot(b, "viewer-tiff");
  });

  it("refuses a cut-off PDF in plain words and stays up", async () => {
    const b = app.browser;
    await openFile(b, claim.cut);
    const problem = byTestId(b, "viewer-error");
    await problem.waitForDisplayed({ timeout: 15_000 });
    expect(await problem.getText()).toMatch(/incomplete/);
    await openFile(b, claim.pdf);
    await byTestId(b, "viewer-canvas").waitForDisplayed({ timeout: 15_000 });
  });

  it("attaches a reply through the outbox and saves an audited copy", async () => {
    const b = app.browser;
    // A small real PDF, as a provider's reply would arrive.
    const pdf = writePdf([["RECORDS AS REQUESTED", `Claim ${claim.number}`]]);
    const file = join(mkdtempSync(join(tmpdir(), "claimdesk-reply-")), `reply-${claim.number}.pdf`);
    writeFileSync(file, pdf);
    const picker = byTestId(b, "attach-file");
    await picker.scrollIntoView({ block: "center" });
    await picker.setValue(file);
    await byTestId(b, "attach-submit").click();
    await until(b, async () => /is attached/.test(await byTestId(b, "desk-notice").getText()), "the attachment was not queued");
    await until(
      b,
      () => sql(`SELECT count(*) FROM claimdesk.document WHERE claim_id = '${claim.id}' AND file_name = 'reply-${claim.number}.pdf'`) === "1",
      "the attachment never reached central",
      30_000,
    );

    // Export the CMS-1500: an explicit step, a private file, an audit row.
    await openFile(b, claim.pdf);
    await byTestId(b, "viewer-canvas").waitForDisplayed({ timeout: 15_000 });
    await byTestId(b, "viewer-export").click();
    await byTestId(b, "export-confirm").waitForDisplayed();
    await screenshot(b, "viewer-export");
    await byTestId(b, "export-save").click();
    await until(b, async () => /Saved a copy/.test(await byTestId(b, "desk-notice").getText()), "no word that the copy was saved");
    const saved = join(app.home, "exports", claim.pdf);
    expect(existsSync(saved), readdirSync(app.home).join(",")).toBe(true);
    expect(statSync(saved).mode & 0o777).toBe(0o600);
    await until(
      b,
      () =>
        Number(
          sql(`SELECT count(*) FROM claimdesk.audit_log WHERE action = 'export' AND resource_id = '${claim.pdfId}' AND db_user = '${USER}'`),
        ) === 1,
      "the export never reached the audit trail",
      30_000,
    );
  });

  it("opens the PDF again from this computer with central stopped", async () => {
    const b = app.browser;
    await byTestId(b, "viewer").click();
    await b.keys("Escape");
    await byTestId(b, "viewer").waitForDisplayed({ reverse: true });
    database("stop");
    await byTestId(b, "offline-banner").waitForDisplayed({ timeout: 45_000 });
    await openFile(b, claim.pdf);
    await byTestId(b, "viewer-canvas").waitForDisplayed({ timeout: 15_000 });
    await until(b, async () => (await pageLabel(b)) === "Page 1 of 2", "the stored PDF did not open");
    await until(b, async () => /from this computer/.test(await byTestId(b, "viewer-source").getText()), "the viewer does not say the copy is local");
    await screenshot(b, "viewer-offline");
    database("start");
  });
});
