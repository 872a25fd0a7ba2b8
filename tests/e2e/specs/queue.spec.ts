// The adjudicator's queue and workspace on the real window, against the
// real database seeded with claims (scripts/test seeds 3,000).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, launchApp, screenshot, signIn, sql, type RunningApp, until } from "../support/app";

async function $timeline(b: RunningApp["browser"]): Promise<string> {
  return b.$('[aria-label="Timeline"]').getText();
}

/** Puts keyboard focus on the queue table, as Tab would. */
async function focusQueue(b: RunningApp["browser"]): Promise<void> {
  await b.execute(() => (document.querySelector('[data-testid="queue-body"]') as HTMLElement).focus());
}

const USER = process.env.CLAIMDESK_E2E_USER ?? "demo";
const PASSWORD = process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password";

describe("queue and workspace", () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await launchApp();
    await signIn(app.browser, USER, PASSWORD);
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("shows the cached queue in queue order, virtualized", async () => {
    const b = app.browser;
    await b
      .waitUntil(async () => (await b.$$('[data-testid="queue-claim-number"]').length) > 0, {
        timeout: 30_000,
        timeoutMsg: "no queue rows appeared",
      })
      .catch(async (e) => {
        await screenshot(b, "queue-failed");
        throw e;
      });
    const count = Number((await byTestId(b, "queue-count").getText()).replace(/\D/g, ""));
    expect(count).toBeGreaterThan(100);
    // Only the visible window is in the DOM, whatever the queue's length.
    const rendered = await b.$$('[data-testid="queue-row"]').length;
    expect(rendered).toBeLessThan(60);
    const first = await b.$$('[data-testid="queue-claim-number"]')[0].getText();
    const head = sql(
      "SELECT claim_number FROM claimdesk.claim WHERE NOT restricted AND status IN ('received','in_review','appealed','pended') " +
        "ORDER BY priority_rank, prompt_pay_due, received_at, id LIMIT 1",
    );
    expect(first).toBe(head);
    await screenshot(b, "queue");
  });

  it("narrows to a saved view", async () => {
    const b = app.browser;
    await byTestId(b, "view-urgent").click();
    await b.waitUntil(async () => (await byTestId(b, "view-urgent").getAttribute("aria-selected")) === "true");
    const urgent = Number(sql("SELECT count(*) FROM claimdesk.claim WHERE priority = 'urgent' AND NOT restricted AND status IN ('received','in_review','appealed','pended')"));
    await b.waitUntil(
      async () => Number((await byTestId(b, "queue-count").getText()).replace(/\D/g, "")) === urgent,
      { timeout: 10_000, timeoutMsg: "the urgent view's count never matched central" },
    );
    await byTestId(b, "view-all").click();
  });

  it("gets the next claim with N, shows it, and audits the view", async () => {
    const b = app.browser;
    // Keys only: a click on the table would open the row under the pointer.
    const before = Number(sql("SELECT coalesce(max(seq), 0) FROM claimdesk.audit_log"));
    await focusQueue(b);
    await b.keys("n");
    const number = byTestId(b, "workspace-claim-number");
    await number.waitForDisplayed({ timeout: 15_000 });
    const claimNumber = await number.getText();
    expect(claimNumber).toMatch(/^CLM-\d{8}-\d{6}$/);
    expect(await byTestId(b, "member-dob").getText()).toMatch(/^••\/••\/\d{4}$/);
    expect((await b.$$('[data-testid="lines"] tbody tr')).length).toBeGreaterThan(0);
    // Leased to this person on central.
    expect(
      sql(
        `SELECT q.lease_holder FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id WHERE c.claim_number = '${claimNumber}'`,
      ),
    ).toBe(USER);
    await screenshot(b, "workspace");
    // The PHI view reaches central's audit trail through the outbox.
    await b.waitUntil(
      async () =>
        Number(
          sql(
            `SELECT count(*) FROM claimdesk.audit_log a JOIN claimdesk.claim c ON a.resource_id = c.id::text
             WHERE a.seq > ${before} AND a.action = 'view' AND a.resource_type = 'claim'
               AND a.db_user = '${USER}' AND c.claim_number = '${claimNumber}'`,
          ),
        ) === 1,
      { timeout: 20_000, timeoutMsg: "the view never reached the audit trail" },
    );
    // Release with R: back to the queue, the lease gone.
    await b.keys("r");
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 10_000 });
    expect(
      sql(
        `SELECT coalesce(q.lease_holder, '') FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id WHERE c.claim_number = '${claimNumber}'`,
      ),
    ).toBe("");
  });

  it("works from the keyboard alone: move, open, back, shortcuts", async () => {
    const b = app.browser;
    const body = byTestId(b, "queue-body");
    await body.waitForDisplayed();
    await focusQueue(b);
    await b.keys("ArrowDown");
    await b.keys("ArrowDown");
    const third = await b.$$('[data-testid="queue-claim-number"]')[2].getText();
    expect(await byTestId(b, "queue-why").getText()).toContain(third);
    await b.keys("Enter");
    await byTestId(b, "workspace-claim-number").waitForDisplayed({ timeout: 15_000 });
    expect(await byTestId(b, "workspace-claim-number").getText()).toBe(third);
    // Focus starts on the claim's heading, so a screen reader announces it.
    expect(await byTestId(b, "workspace-claim-number").isFocused()).toBe(true);
    // Lines: J moves down (stays on the last line of a one-line claim).
    const lines = await b.$$('[data-testid="line-row"]').length;
    await b.keys("j");
    expect(await byTestId(b, "line-detail").getText()).toContain(`Line ${Math.min(2, lines)}`);
    // A note, written and saved from the keyboard.
    await b.keys("m");
    const box = byTestId(b, "note-input");
    expect(await box.isFocused()).toBe(true);
    // Typed into the focused box (WebDriver's key chords merge repeated letters).
    await box.addValue("Called the provider's office about line 1.");
    await b.keys(["Control", "Enter"]);
    await b.waitUntil(async () => (await $timeline(b)).includes("Called the provider's office about line 1."), {
      timeout: 10_000,
      timeoutMsg: "the note never showed",
    });
    await b.keys("Escape");
    await b.keys("Escape");
    await body.waitForDisplayed({ timeout: 10_000 });
    // Back where the person left the queue: focus on the table, same row.
    expect(await body.isFocused()).toBe(true);
    expect(await byTestId(b, "queue-why").getText()).toContain(third);
    await b.keys("?");
    await byTestId(b, "shortcuts").waitForDisplayed({ timeout: 5_000 });
    expect(await byTestId(b, "shortcuts").getText()).toContain("Get the next claim");
    await screenshot(b, "shortcuts");
    await b.keys("Escape");
    await byTestId(b, "shortcuts").waitForDisplayed({ reverse: true, timeout: 5_000 });
  });

  it("finds a claim by member name or claim number as the person types", async () => {
    const b = app.browser;
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 10_000 });
    // A claim near the head of the queue, so it is among the first matches.
    const [number, last] = sql(
      `SELECT c.claim_number, m.last_name FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
       JOIN claimdesk.queue_entry q ON q.claim_id = c.id WHERE NOT q.restricted
       ORDER BY q.priority_rank, q.prompt_pay_due, q.received_at, q.claim_id LIMIT 1 OFFSET 10`,
    ).split("|");
    const box = byTestId(b, "queue-search");
    await box.setValue(last.slice(0, 5).toLowerCase());
    await until(
      b,
      async () => (await b.$$('[data-testid="found-claim"]').map((e) => e.getText())).some((t) => t.includes(number)),
      "the claim was not found by its member's name",
    );
    await screenshot(b, "queue-search");
    await box.setValue(number);
    await until(b, async () => (await b.$$('[data-testid="found-claim"]').length) === 1, "the claim number did not narrow to one");
    await b.keys("Enter");
    await byTestId(b, "workspace-claim-number").waitForDisplayed({ timeout: 15_000 });
    expect(await byTestId(b, "workspace-claim-number").getText()).toBe(number);
    await b.keys("Escape");
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 10_000 });
  });

  it("switches to the dark theme and remembers it", async () => {
    const b = app.browser;
    const toggle = byTestId(b, "theme-toggle");
    // system → light → dark
    await toggle.click();
    await toggle.click();
    expect(await toggle.getText()).toContain("dark");
    expect(await b.execute(() => document.documentElement.dataset.theme)).toBe("dark");
    expect(await b.execute(() => localStorage.getItem("claimdesk.theme"))).toBe("dark");
    await screenshot(b, "queue-dark");
    await toggle.click();
  });
});
