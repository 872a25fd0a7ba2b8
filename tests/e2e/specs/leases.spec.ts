// Leases and pends on the real window (issue 19): a claim kept open past its
// lease time keeps its lease (the desk renews it), a lost lease is said at
// once with the draft kept, leaving a held claim gives it back (asking when
// a decision was started), and a pended claim comes back when the
// information it waits for arrives.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, launchApp, screenshot, signIn, sql, until, type RunningApp } from "../support/app";
import { writePdf } from "../support/pdf";

const USER = process.env.CLAIMDESK_E2E_USER ?? "demo";
const PASSWORD = process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password";

type B = RunningApp["browser"];

async function next(b: B): Promise<string> {
  await byTestId(b, "queue-body").waitForDisplayed({ timeout: 20_000 });
  await b.execute(() => (document.querySelector('[data-testid="queue-body"]') as HTMLElement).focus());
  await b.keys("n");
  const number = byTestId(b, "workspace-claim-number");
  await number.waitForDisplayed({ timeout: 15_000 });
  return number.getText();
}

/** The pend cell's text of `claim`'s row in the queue table, or null when
 * no screen of the table shows the claim. */
async function pendCell(b: B, claim: string): Promise<string | null> {
  const size = await b.execute(() => {
    const body = document.querySelector('[data-testid="queue-body"]') as HTMLElement;
    return { height: body.scrollHeight, viewport: body.clientHeight };
  });
  const step = Math.max(36, size.viewport - 72);
  for (let top = 0; top < size.height; top += step) {
    await b.execute((t: number) => {
      (document.querySelector('[data-testid="queue-body"]') as HTMLElement).scrollTop = t;
    }, top);
    // The scroll event redraws the window of rows, loading its page.
    await b.pause(300);
    const text = await b.execute((c: string) => {
      for (const row of document.querySelectorAll('[data-testid="queue-row"]')) {
        if (row.querySelector('[data-testid="queue-claim-number"]')?.textContent?.trim() !== c) continue;
        return (row.querySelector('[data-testid="queue-pend"]')?.textContent ?? "").replace(/\s+/g, " ").trim();
      }
      return null;
    }, claim);
    if (text !== null) return text;
  }
  return null;
}

function lease(claim: string): string {
  return sql(
    `SELECT coalesce(q.lease_holder, '') || '|' || coalesce((q.lease_expires_at > now() + interval '14 minutes')::text, '')
     FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id WHERE c.claim_number = '${claim}'`,
  );
}

describe("leases and pends", () => {
  let app: RunningApp;

  beforeAll(async () => {
    // Renew every 2 s so the test need not wait out a 15-minute lease.
    app = await launchApp({ env: { CLAIMDESK_LEASE_RENEW_SECONDS: "2" } });
    await signIn(app.browser, USER, PASSWORD);
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("keeps the lease on a claim kept open past its lease time, and says so when it is lost", async () => {
    const b = app.browser;
    const claim = await next(b);
    // Fifteen minutes pass at the desk: on central's clock the lease is
    // about to run out. The open workspace renews it.
    sql(`UPDATE claimdesk.queue_entry SET lease_expires_at = now() + interval '4 seconds'
         WHERE claim_id = (SELECT id FROM claimdesk.claim WHERE claim_number = '${claim}')`);
    await until(b, () => lease(claim) === `${USER}|true`, "the lease was not renewed", 20_000);
    await b.pause(5_000);
    expect(lease(claim)).toBe(`${USER}|true`);

    // A decision started, then a supervisor moves the claim to someone else.
    await b.keys("d");
    await byTestId(b, "decision-explanation").setValue("Records do not support the second visit.");
    sql(`UPDATE claimdesk.queue_entry SET lease_holder = 'someone_else', leased_at = now(), lease_expires_at = now() + interval '15 minutes'
         WHERE claim_id = (SELECT id FROM claimdesk.claim WHERE claim_number = '${claim}')`);
    await byTestId(b, "lease-lost").waitForDisplayed({ timeout: 20_000 });
    expect(await byTestId(b, "decision-explanation").getValue()).toBe("Records do not support the second visit.");
    expect(await byTestId(b, "decision-submit").isEnabled()).toBe(false);
    await screenshot(b, "lease-lost");

    // Back in the queue, it is taken again and the draft is still there.
    sql(`UPDATE claimdesk.queue_entry SET lease_holder = NULL, leased_at = NULL, lease_expires_at = NULL
         WHERE claim_id = (SELECT id FROM claimdesk.claim WHERE claim_number = '${claim}')`);
    await byTestId(b, "take-claim").click();
    await byTestId(b, "lease-lost").waitForDisplayed({ reverse: true, timeout: 15_000 });
    expect(lease(claim)).toBe(`${USER}|true`);
    expect(await byTestId(b, "decision-explanation").getValue()).toBe("Records do not support the second visit.");

    // Leaving with a decision started asks first; then the claim goes back.
    await b.execute(() => (document.activeElement as HTMLElement | null)?.blur());
    await b.keys("Escape");
    await byTestId(b, "leave-dialog").waitForDisplayed({ timeout: 5_000 });
    await screenshot(b, "leave-with-draft");
    await byTestId(b, "leave-discard").click();
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 10_000 });
    await until(b, () => lease(claim) === "|", "leaving did not give the claim back");
  });

  it("takes the next claim without keeping the one open, and opens list claims read-only", async () => {
    const b = app.browser;
    // Leases left by earlier specs' windows (closed without leaving).
    sql(`UPDATE claimdesk.queue_entry SET lease_holder = NULL, leased_at = NULL, lease_expires_at = NULL WHERE lease_holder = '${USER}'`);
    const first = await next(b);
    await b.keys("n");
    await until(b, async () => (await byTestId(b, "workspace-claim-number").getText()) !== first, "N did not move on");
    const second = await byTestId(b, "workspace-claim-number").getText();
    await until(b, () => lease(first) === "|", "the first claim was not given back");
    expect(lease(second)).toBe(`${USER}|true`);
    await b.keys("Escape");
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 10_000 });
    await until(b, () => lease(second) === "|", "leaving did not give the second claim back");

    // Opened from the list: read-only, nothing leased, until taken.
    await (await b.$$('[data-testid="queue-row"]'))[3].click();
    await byTestId(b, "read-only").waitForDisplayed({ timeout: 15_000 });
    const opened = await byTestId(b, "workspace-claim-number").getText();
    expect(lease(opened).startsWith("|")).toBe(true);
    expect(await byTestId(b, "decision-submit").isEnabled()).toBe(false);
    await b.keys("t");
    await byTestId(b, "read-only").waitForDisplayed({ reverse: true, timeout: 15_000 });
    expect(lease(opened)).toBe(`${USER}|true`);
    await b.keys("Escape");
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 10_000 });
    await until(b, () => lease(opened) === "|", "leaving did not give the taken claim back");
  });

  it("shows a claim pended for information in the pended view, and brings it back when the information arrives", async () => {
    const b = app.browser;
    const claim = await next(b);
    const id = sql(`SELECT id FROM claimdesk.claim WHERE claim_number = '${claim}'`);
    await b.keys("i");
    await byTestId(b, "pend-reason").selectByAttribute("value", "records");
    await byTestId(b, "decision-explanation").setValue("Operative report for line 1");
    await b.keys(["Control", "Enter"]);
    await until(b, () => sql(`SELECT status FROM claimdesk.claim WHERE id = '${id}'`) === "pended", "the request never reached central", 30_000);
    const until_ = sql(`SELECT pend_until FROM claimdesk.claim WHERE id = '${id}'`);

    // The pended view lists it with why and until when. The table draws
    // only the rows on screen, so the whole list is walked a screen at a
    // time (its order is the cache's, which a sync may be moving).
    const count = async (): Promise<number> => Number((await byTestId(b, "queue-count").getText()).replace(/\D/g, ""));
    await byTestId(b, "view-pended").click();
    const pended = Number(sql(`SELECT count(*) FROM claimdesk.queue_entry WHERE pended AND NOT restricted`));
    await until(b, async () => (await count()) === pended, "the pended view did not load", 30_000);
    // Why and until when arrive with the next sync of the claim.
    await until(
      b,
      async () => (await pendCell(b, claim)) === `Pended to ${until_} · records`,
      "the pended view does not list the claim with why and until when",
      45_000,
    );
    await screenshot(b, "queue-pended");
    const pendedBefore = await count();

    // The provider's records arrive: attached from the workspace.
    // Opened through the queue's search (the row may have scrolled away as
    // the sync redrew the table).
    await byTestId(b, "queue-search").setValue(claim);
    await until(b, async () => (await b.$$('[data-testid="found-claim"]').length) === 1, "the search did not find the claim");
    await b.keys("Enter");
    await byTestId(b, "workspace-claim-number").waitForDisplayed({ timeout: 15_000 });
    expect(await byTestId(b, "workspace-claim-number").getText()).toBe(claim);
    const file = join(mkdtempSync(join(tmpdir(), "claimdesk-records-")), `records-${claim}.pdf`);
    writeFileSync(file, writePdf([["OPERATIVE REPORT", `Claim ${claim}`]]));
    const picker = byTestId(b, "attach-file");
    await picker.scrollIntoView({ block: "center" });
    await picker.setValue(file);
    await byTestId(b, "attach-submit").click();
    await until(b, () => sql(`SELECT status FROM claimdesk.claim WHERE id = '${id}'`) === "in_review", "the claim did not come back", 30_000);
    expect(
      sql(`SELECT reason FROM claimdesk.claim_status_history WHERE claim_id = '${id}' ORDER BY changed_at DESC LIMIT 1`),
    ).toBe(`Information arrived: records-${claim}.pdf`);
    await b.keys("Escape");
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 10_000 });
    await until(b, async () => (await count()) === pendedBefore - 1, "the claim is still in the pended view", 30_000);
    await byTestId(b, "view-all").click();
  });
});
