// Login and connection status on the real window, against the real database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, database, launchApp, loginError, screenshot, signIn, type RunningApp } from "../support/app";

const USER = process.env.CLAIMDESK_E2E_USER ?? "demo";
const PASSWORD = process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password";

describe("login", () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await launchApp();
  });

  afterAll(async () => {
    // Whatever happened, leave the database running for the next spec.
    database("start");
    await app?.stop();
  });


  it("shows which server it will use before login", async () => {
    const server = byTestId(app.browser, "login-server");
    await server.waitForDisplayed({ timeout: 20_000 });
    expect(await server.getText()).toContain(process.env.CLAIMDESK_CENTRAL_DATABASE ?? "claimdesk");
  });

  it("shows a clear error for a wrong password and stays on the login screen", async () => {
    await signIn(app.browser, USER, "definitely-wrong");
    const error = await loginError(app.browser);
    expect(error.code).toBe("auth_failed");
    expect(error.text).toContain("rejected the user name or password");
    expect(await byTestId(app.browser, "login-password").getValue()).toBe("");
    await screenshot(app.browser, "login-wrong-password");
  });

  it("logs in as the demo user and shows the connection status", async () => {
    await byTestId(app.browser, "login-username").clearValue();
    await signIn(app.browser, USER, PASSWORD);
    // The desk opens on the queue; the connection has its own tab.
    await byTestId(app.browser, "queue-body").waitForDisplayed({ timeout: 15_000 });
    await byTestId(app.browser, "tab-connection").click();
    const version = byTestId(app.browser, "status-server-version");
    await version.waitForDisplayed({ timeout: 15_000 });
    expect(await version.getText()).toMatch(/^PostgreSQL \d+\.\d+/);
    expect(await byTestId(app.browser, "status-user").getText()).toBe(USER);
    expect(await byTestId(app.browser, "status-database").getText()).toBe(
      process.env.CLAIMDESK_CENTRAL_DATABASE ?? "claimdesk",
    );
    expect(await byTestId(app.browser, "status-latency").getText()).toMatch(/\d(\.\d+)? (ms|s)$/);
    expect(await byTestId(app.browser, "status-bar-state").getText()).toBe("Online");
    // This computer's encrypted copy is open and synced (its key is in the
    // real keychain the test run provides).
    await app.browser.waitUntil(
      async () => /claims cached/.test(await byTestId(app.browser, "status-bar-sync").getText()),
      { timeout: 15_000, timeoutMsg: "the first sync never finished" },
    );
    expect(await byTestId(app.browser, "status-bar-outbox").getText()).toBe("Outbox 0");
    await screenshot(app.browser, "connection-status");
  });

  it("says the server is unreachable when the database stops, and recovers when it returns", async () => {
    const status = byTestId(app.browser, "connection-status");
    database("stop");
    await status.waitUntil(async () => (await status.getAttribute("data-state")) === "offline", {
      timeout: 30_000,
      timeoutMsg: "the status never showed the outage",
    });
    const error = byTestId(app.browser, "connection-error");
    expect(await error.getAttribute("data-code")).toBe("server_unreachable");
    expect(await byTestId(app.browser, "status-bar-state").getText()).toContain("Offline");
    await screenshot(app.browser, "connection-lost");

    database("start");
    await status.waitUntil(async () => (await status.getAttribute("data-state")) === "online", {
      timeout: 30_000,
      timeoutMsg: "the status never recovered",
    });
    expect(await error.isExisting()).toBe(false);
    // The status bar follows the same state on its own render: wait for it
    // rather than read it in the same instant (CI under load saw it lag).
    const bar = byTestId(app.browser, "status-bar-state");
    await bar.waitUntil(async () => (await bar.getText()) === "Online", {
      timeout: 10_000,
      timeoutMsg: "the status bar never said Online",
    });
  });
});
