// Deciding claims on the real window against the real database: approve,
// deny (blocked without a code), pend, a conflict with another client, and
// a decision made offline that reaches central exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, database, launchApp, screenshot, signIn, sql, until, type RunningApp } from "../support/app";

const USER = process.env.CLAIMDESK_E2E_USER ?? "demo";
const PASSWORD = process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password";

type B = RunningApp["browser"];

/** Takes the next claim with N and returns its number. */
async function next(b: B): Promise<string> {
  await byTestId(b, "queue-body").waitForDisplayed({ timeout: 20_000 });
  await b.execute(() => (document.querySelector('[data-testid="queue-body"]') as HTMLElement).focus());
  await b.keys("n");
  const number = byTestId(b, "workspace-claim-number");
  await number.waitForDisplayed({ timeout: 15_000 });
  return number.getText();
}

async function submit(b: B): Promise<void> {
  await b.keys(["Control", "Enter"]);
}

function status(claimNumber: string): string {
  return sql(`SELECT status FROM claimdesk.claim WHERE claim_number = '${claimNumber}'`);
}


describe("deciding claims", () => {
  let app: RunningApp;

  beforeAll(async () => {
    // The claims these flows approve with N must be payable as billed: those
    // central would refuse (engine denials and holds, which a test below and
    // the core tests cover) are leased away while this spec runs.
    sql(`UPDATE claimdesk.queue_entry q SET lease_holder = 'not-payable', lease_expires_at = now() + interval '2 hours', leased_at = now()
         FROM claimdesk.claim c WHERE c.id = q.claim_id AND q.lease_holder IS NULL
           AND claimdesk.claim_blocking_edits(c, (claimdesk.claim_money_context(c)).is_eligible, NULL) <> '[]'`);
    app = await launchApp();
    await signIn(app.browser, USER, PASSWORD);
  });

  afterAll(async () => {
    database("start");
    sql(`UPDATE claimdesk.queue_entry SET lease_holder = NULL, lease_expires_at = NULL, leased_at = NULL WHERE lease_holder = 'not-payable'`);
    await app?.stop();
  });

  it("approves from the keyboard: the claim leaves the queue and is in the audit trail", async () => {
    const b = app.browser;
    const before = Number(sql("SELECT coalesce(max(seq), 0) FROM claimdesk.audit_log"));
    const claim = await next(b);
    await byTestId(b, "balance").waitForDisplayed();
    expect(await byTestId(b, "balance").getText()).toContain("balances");
    await b.keys("a");
    await until(b, async () => (await byTestId(b, "decide-approve").getAttribute("aria-checked")) === "true", "A did not choose approve", 5_000);
    await byTestId(b, "decision-panel").scrollIntoView();
    await screenshot(b, "decision-approve");
    await submit(b);
    await byTestId(b, "desk-notice").waitForDisplayed({ timeout: 10_000 });
    await until(b, () => /^(approved|partially_approved)$/.test(status(claim)), "the approval never reached central");
    const audited = sql(
      `SELECT count(*) FROM claimdesk.audit_log a JOIN claimdesk.claim c ON a.resource_id = c.id::text
       WHERE a.seq > ${before} AND a.resource_type = 'claim' AND a.db_user = '${USER}'
         AND a.action <> 'view' AND c.claim_number = '${claim}'`,
    );
    expect(Number(audited)).toBeGreaterThan(0);
    // Gone from the queue.
    await until(
      b,
      async () => {
        const shown = await b.$$('[data-testid="queue-claim-number"]').map((e) => e.getText());
        return shown.length > 0 && !shown.includes(claim);
      },
      "the approved claim is still listed",
    );
  });

  it("blocks a denial without a reason code, then denies with one", async () => {
    const b = app.browser;
    const claim = await next(b);
    await b.keys("d");
    // The decision continues where the key left it: the reason code.
    expect(await byTestId(b, "carc-input").isFocused()).toBe(true);
    await byTestId(b, "decision-explanation").setValue("Not covered under the member's plan.");
    await byTestId(b, "decision-submit").click();
    const problems = byTestId(b, "decision-problems");
    await problems.waitForDisplayed({ timeout: 5_000 });
    expect(await problems.getText()).toContain("Choose a reason code");
    expect(await byTestId(b, "workspace-claim-number").getText()).toBe(claim);
    expect(status(claim)).not.toBe("denied");
    await screenshot(b, "decision-deny-blocked");

    await byTestId(b, "carc-input").setValue("96");
    await byTestId(b, "carc-options").waitForDisplayed();
    await b.keys("Enter");
    expect(await byTestId(b, "group-select").getValue()).toBe("CO");
    // A remark that explains 96, picked from the keyboard.
    await byTestId(b, "rarc-input").setValue("N13");
    await byTestId(b, "rarc-options").waitForDisplayed();
    await b.keys("Enter");
    expect(await byTestId(b, "rarc-chosen").getText()).toContain("N130");
    await byTestId(b, "rarc-input").setValue("N");
    await byTestId(b, "rarc-options").waitForDisplayed();
    await screenshot(b, "decision-deny-remarks");
    await byTestId(b, "rarc-input").clearValue();
    await byTestId(b, "decision-submit").click();
    await byTestId(b, "desk-notice").waitForDisplayed({ timeout: 10_000 });
    await until(b, () => status(claim) === "denied", "the denial never reached central");
    expect(sql(`SELECT denial_group_code || '-' || denial_carc FROM claimdesk.claim WHERE claim_number = '${claim}'`)).toBe(
      "CO-96",
    );
    expect(
      sql(`SELECT bool_and('N130' = ANY (l.rarc)) FROM claimdesk.claim_line l JOIN claimdesk.claim c ON c.id = l.claim_id
           WHERE c.claim_number = '${claim}'`),
    ).toBe("t");
  });

  it("pends with a reason", async () => {
    const b = app.browser;
    const claim = await next(b);
    await b.keys("p");
    await byTestId(b, "pend-reason").selectByAttribute("value", "records");
    await submit(b);
    await byTestId(b, "desk-notice").waitForDisplayed({ timeout: 10_000 });
    await until(b, () => status(claim) === "pended", "the pend never reached central");
    expect(sql(`SELECT pend_reason FROM claimdesk.claim WHERE claim_number = '${claim}'`)).toBe("records");
  });

  it("shows both versions when another client changed the claim, keeping what was typed", async () => {
    const b = app.browser;
    const claim = await next(b);
    const version = Number(sql(`SELECT version FROM claimdesk.claim WHERE claim_number = '${claim}'`));
    // Someone else changes the claim meanwhile.
    sql(`UPDATE claimdesk.claim SET version = version + 1 WHERE claim_number = '${claim}'`);
    await b.keys("l");
    await byTestId(b, "decision-explanation").setValue("Second line over the documented time.");
    // The text stays with the claim's draft when the decision changes.
    await byTestId(b, "decide-approve").click();
    await submit(b);
    const dialog = byTestId(b, "conflict-dialog");
    await dialog.waitForDisplayed({ timeout: 30_000 });
    expect(await byTestId(b, "conflict-reason").getAttribute("data-code")).toBe("version_conflict");
    expect(await byTestId(b, "conflict-theirs-version").getText()).toBe(String(version + 1));
    expect(await byTestId(b, "conflict-ours-text").getText()).toBe("Second line over the documented time.");
    await screenshot(b, "conflict");
    // Redo: the claim reopens on the new version with the decision filled in.
    await byTestId(b, "conflict-redo").click();
    await byTestId(b, "workspace-claim-number").waitForDisplayed({ timeout: 15_000 });
    expect(await byTestId(b, "decide-approve").getAttribute("aria-checked")).toBe("true");
    await submit(b);
    await until(b, () => status(claim) === "approved", "the redone approval never reached central");
  });

  it("refuses on central to pay a claim the engine denies, and says why", async () => {
    const b = app.browser;
    const claim = await next(b);
    // After this desktop priced the claim, its provider was excluded (an
    // LEIE import elsewhere): the desktop's figures say pay; central says no.
    const provider = sql(`SELECT provider_id FROM claimdesk.claim WHERE claim_number = '${claim}'`);
    sql(`UPDATE claimdesk.provider SET excluded = true, exclusion_source = 'oig_leie', exclusion_date = '2000-01-01' WHERE id = '${provider}'`);
    try {
      await b.keys("a");
      await submit(b);
      const dialog = byTestId(b, "conflict-dialog");
      await dialog.waitForDisplayed({ timeout: 30_000 });
      expect(await byTestId(b, "conflict-reason").getAttribute("data-code")).toBe("engine_denies");
      expect(await byTestId(b, "conflict-reason").getText()).toContain("cannot be paid");
      expect(status(claim)).not.toMatch(/approved/);
      await screenshot(b, "central-refuses-engine-denied");
      await byTestId(b, "conflict-discard").click();
      await dialog.waitForDisplayed({ reverse: true, timeout: 10_000 });
    } finally {
      sql(`UPDATE claimdesk.provider SET excluded = false, exclusion_source = NULL, exclusion_date = NULL WHERE id = '${provider}'`);
    }
  });

  it("decides offline and the decision reaches central exactly once after reconnecting", async () => {
    const b = app.browser;
    const claim = await next(b);
    database("stop");
    await byTestId(b, "offline-banner").waitForDisplayed({ timeout: 45_000 });
    await b.keys("a");
    await submit(b);
    await byTestId(b, "desk-notice").waitForDisplayed({ timeout: 10_000 });
    await until(b, async () => /Outbox [1-9]/.test(await byTestId(b, "status-bar-outbox").getText()), "the outbox never showed the decision");
    await screenshot(b, "offline-decision");
    database("start");
    await until(b, () => status(claim) === "approved", "the offline decision never reached central", 60_000);
    await until(b, async () => (await byTestId(b, "status-bar-outbox").getText()) === "Outbox 0", "the outbox never drained", 30_000);
    const applied = sql(
      `SELECT count(*) FROM claimdesk.applied_mutation m JOIN claimdesk.claim c ON c.id = m.claim_id
       WHERE m.kind = 'decide' AND c.claim_number = '${claim}'`,
    );
    expect(applied).toBe("1");
    const approvals = sql(
      `SELECT count(*) FROM claimdesk.claim_status_history h JOIN claimdesk.claim c ON c.id = h.claim_id
       WHERE h.to_status = 'approved' AND c.claim_number = '${claim}'`,
    );
    expect(approvals).toBe("1");
  });
});
