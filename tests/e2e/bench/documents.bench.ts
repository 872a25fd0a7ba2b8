// Document viewer figures on the real window (issue 7): the first page of a
// 100-page PDF, from this computer's encrypted copy, clicked to drawn on
// the canvas. Run with scripts/bench-desktop (BENCH=documents for this one
// alone), against the release build; not part of the tests.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { median, p95 } from "./stats";
import { byTestId, database, launchApp, signIn, sql, type RunningApp } from "../support/app";
import { writePdf } from "../support/pdf";

const USER = process.env.CLAIMDESK_E2E_USER ?? "demo";
const PASSWORD = process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password";
const OPENS = Number(process.env.CLAIMDESK_BENCH_OPENS ?? 20);
const PAGES = 100;

type B = RunningApp["browser"];


/** A 100-page medical record: 40 lines of text a page, like a typed chart. */
function record(claimNumber: string): string {
  return writePdf(
    Array.from({ length: PAGES }, (_, p) =>
      Array.from({ length: 40 }, (_, l) =>
        l === 0
          ? `MEDICAL RECORD ${claimNumber} - PAGE ${p + 1} OF ${PAGES}`
          : `${String(l).padStart(2, "0")}  Progress note: vitals stable, plan reviewed, follow up in two weeks (${p + 1}.${l})`,
      ),
    ),
  );
}

/** Milliseconds from the click: total, and when each step of the viewer ended. */
interface Timed {
  total: number;
  checked: number;
  fetched: number;
  parsed: number;
  drawn: number;
}

/** Clicks the document named `file` and waits until its first page is on screen; page clock. */
async function timedView(b: B, file: string): Promise<Timed> {
  return b.executeAsync((name: string, done: (t: Timed) => void) => {
    const button = [...document.querySelectorAll<HTMLElement>('[data-testid="document-open"]')].find((e) => e.textContent?.trim() === name);
    performance.clearMarks();
    const start = performance.now();
    button!.click();
    const at = (mark: string) => (performance.getEntriesByName(`document:${mark}`)[0]?.startTime ?? NaN) - start;
    const check = () => {
      if (document.querySelector('[data-testid="viewer-canvas"][data-drawn="1"]'))
        // The frame after the canvas has it is when it is on screen.
        requestAnimationFrame(() =>
          done({ total: performance.now() - start, checked: at("checked"), fetched: at("fetched"), parsed: at("parsed"), drawn: at("drawn") }),
        );
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, file);
}

const p50 = (xs: Timed[], k: keyof Timed) => median(xs.map((x) => x[k])).toFixed(1);

/** The view_document command alone (decrypt, check, audit), page clock. */
async function timedCommand(b: B, claimId: string, id: string): Promise<number> {
  return b.executeAsync((claim: string, doc: string, done: (ms: number) => void) => {
    const w = window as unknown as { __TAURI_INTERNALS__: { invoke: (c: string, a: object) => Promise<unknown> } };
    const start = performance.now();
    void w.__TAURI_INTERNALS__.invoke("view_document", { claimId: claim, id: doc }).then(() => done(performance.now() - start));
  }, claimId, id);
}

async function closeViewer(b: B): Promise<void> {
  await byTestId(b, "viewer").click();
  await b.keys("Escape");
  await byTestId(b, "viewer").waitForDisplayed({ reverse: true, timeout: 10_000 });
}

describe("document viewer benchmark", () => {
  let app: RunningApp | undefined;
  afterAll(async () => {
    database("start");
    await app?.stop();
  });

  it("measures", async () => {
    // A queued claim at the head of the queue, with the 100-page record.
    const [claimId, number] = sql(
      `SELECT c.id, c.claim_number FROM claimdesk.claim c JOIN claimdesk.queue_entry q ON q.claim_id = c.id
       WHERE NOT q.pended AND NOT q.restricted AND q.lease_holder IS NULL ORDER BY c.id LIMIT 1`,
    ).split("|");
    sql(`UPDATE claimdesk.queue_entry SET priority_rank = 0, prompt_pay_due = '2000-01-01' WHERE claim_id = '${claimId}'`);
    const dir = mkdtempSync(join(tmpdir(), "claimdesk-bench-doc-"));
    chmodSync(dir, 0o755);
    const path = join(dir, "record.pdf");
    writeFileSync(path, record(number));
    chmodSync(path, 0o644);
    const file = `record-100-pages-${number}.pdf`;
    // The server reads the file itself: too big for a command line.
    const docId = sql(
      `WITH f AS (SELECT pg_read_binary_file('${path}') AS b),
            c AS (INSERT INTO claimdesk.document_content (sha256, content) SELECT sha256(b), b FROM f ON CONFLICT DO NOTHING)
       INSERT INTO claimdesk.document (id, claim_id, document_type, file_name, mime_type, size_bytes, sha256, page_count, uploaded_by)
       SELECT gen_random_uuid(), '${claimId}', 'medical_record', '${file}', 'application/pdf', length(b), sha256(b), ${PAGES}, 'bench'
       FROM f RETURNING id`,
    );
    const size = Number(sql(`SELECT size_bytes FROM claimdesk.document WHERE id = '${docId}'`));

    app = await launchApp();
    const b = app.browser;
    await signIn(b, USER, PASSWORD);
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 30_000 });
    await b.execute(() => (document.querySelector('[data-testid="queue-body"]') as HTMLElement).focus());
    await b.keys("n");
    await byTestId(b, "workspace-claim-number").waitForDisplayed({ timeout: 15_000 });

    // The first view fetches from central and stores the file.
    const first = await timedView(b, file);
    await closeViewer(b);
    const online: Timed[] = [];
    for (let i = 0; i < OPENS; i++) {
      online.push(await timedView(b, file));
      await closeViewer(b);
    }
    const command: number[] = [];
    for (let i = 0; i < OPENS; i++) command.push(await timedCommand(b, claimId, docId));
    // Central stopped: nothing but this computer's copy.
    database("stop");
    await byTestId(b, "offline-banner").waitForDisplayed({ timeout: 60_000 });
    const offline: Timed[] = [];
    for (let i = 0; i < OPENS; i++) {
      offline.push(await timedView(b, file));
      await closeViewer(b);
    }
    database("start");
    const cpu = execFileSync("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo || true"]).toString().trim();
    console.log(
      [
        "",
        `## Document viewer benchmark (${process.env.CLAIMDESK_E2E_APP})`,
        cpu,
        "",
        "| What | Figure |",
        "|---|---|",
        `| 100-page PDF (${(size / 1024).toFixed(0)} KiB), first view: fetched from central, checked, stored, first page drawn | ${first.total.toFixed(0)} ms |`,
        `| First page on screen, from this computer's copy, central answering (${OPENS}) | p50 ${p50(online, "total")} ms, p95 ${p95(online.map((t) => t.total)).toFixed(1)} ms |`,
        `| First page on screen, from this computer's copy, central stopped (${OPENS}) | p50 ${p50(offline, "total")} ms, p95 ${p95(offline.map((t) => t.total)).toFixed(1)} ms |`,
        `| of which, p50 ms from the click (central stopped): checked and audited / bytes in the page / pdf.js parsed / drawn | ${p50(offline, "checked")} / ${p50(offline, "fetched")} / ${p50(offline, "parsed")} / ${p50(offline, "drawn")} |`,
        `| view_document command alone (decrypt, check, audit), central answering | p50 ${median(command).toFixed(1)} ms, p95 ${p95(command).toFixed(1)} ms |`,
        "",
      ].join("\n"),
    );
  });
});
