// Automatic lock on the real window, with the timeout shortened through
// the environment: left alone with a claim open, the window locks; nothing
// of the claim stays on screen or in the page; the app's side refuses to
// read while locked but keeps its sync status; a wrong password is refused
// with the tries left, the right one brings the desk back; Ctrl+L locks at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, invokeCommand, launchApp, screenshot, signIn, sql, type RunningApp } from "../support/app";

const USER = process.env.CLAIMDESK_E2E_USER ?? "demo";
const PASSWORD = process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password";
const LOCK_AFTER_SECONDS = 8;

describe("automatic lock", () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await launchApp({ env: { CLAIMDESK_LOCK_AFTER_SECONDS: String(LOCK_AFTER_SECONDS) } });
    await signIn(app.browser, USER, PASSWORD);
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("locks a window left alone, shows and keeps nothing of the claim, and unlocks with the password", async () => {
    const b = app.browser;
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 30_000 });
    await b.execute(() => (document.querySelector('[data-testid="queue-body"]') as HTMLElement).focus());
    await b.keys("n");
    // The key is the last activity: the timeout runs from here, however
    // long the claim then takes to open on a loaded machine.
    const openedAt = Date.now();
    const numberField = byTestId(b, "workspace-claim-number");
    await numberField.waitForDisplayed({ timeout: 15_000 });
    const number = await numberField.getText();
    const [claimId, lastName] = sql(
      `SELECT c.id, m.last_name FROM claimdesk.claim c JOIN claimdesk.member m ON m.id = c.member_id
       WHERE c.claim_number = '${number}'`,
    ).split("|");
    expect(await b.execute(() => document.body.innerText)).toContain(lastName);

    // Nobody touches anything: the lock comes after the timeout, not before.
    const lock = byTestId(b, "lock-screen");
    await lock.waitForDisplayed({ timeout: (LOCK_AFTER_SECONDS + 10) * 1000 });
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual((LOCK_AFTER_SECONDS - 1) * 1000);
    expect(await byTestId(b, "lock-why").getText()).toContain(`${LOCK_AFTER_SECONDS} seconds without activity`);
    expect(await byTestId(b, "lock-user").getText()).toBe(USER);
    await screenshot(b, "autolock-locked");

    // Nothing of the claim is left in the page, shown or not.
    const page = await b.execute(() => document.documentElement.outerHTML);
    expect(page).not.toContain(number);
    expect(page).not.toContain(lastName);
    // The app's side refuses to read while locked; sync status still answers.
    expect(await invokeCommand(b, "open_claim", { id: claimId })).toMatchObject({ error: { code: "session_locked" } });
    expect(await invokeCommand(b, "queue_page", { view: "all", offset: 0, limit: 10 })).toMatchObject({
      error: { code: "session_locked" },
    });
    expect(await invokeCommand(b, "local_status", {})).toMatchObject({ ok: { sync: {} } });
    expect(await byTestId(b, "status-bar-state").getText()).toContain("Locked");

    // A wrong password: refused, the tries left said.
    await byTestId(b, "unlock-password").setValue("not-my-password");
    await byTestId(b, "unlock-submit").click();
    const error = byTestId(b, "unlock-error");
    await error.waitForDisplayed({ timeout: 10_000 });
    expect(await error.getAttribute("data-code")).toBe("auth_failed");
    expect(await error.getText()).toContain("4 tries left");
    expect(await lock.isDisplayed()).toBe(true);

    // The right one: the desk is back and reads again.
    await byTestId(b, "unlock-password").setValue(PASSWORD);
    await byTestId(b, "unlock-submit").click();
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 15_000 });
    expect(await lock.isExisting()).toBe(false);
    expect(await invokeCommand(b, "open_claim", { id: claimId })).toMatchObject({ ok: {} });
  });

  it("locks at once with Ctrl+L", async () => {
    const b = app.browser;
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 15_000 });
    await b.keys(["Control", "l"]);
    await byTestId(b, "lock-screen").waitForDisplayed({ timeout: 5_000 });
    expect(await byTestId(b, "lock-why").getText()).not.toContain("without activity");
    await byTestId(b, "unlock-password").setValue(PASSWORD);
    await byTestId(b, "unlock-submit").click();
    await byTestId(b, "queue-body").waitForDisplayed({ timeout: 15_000 });
  });
});
