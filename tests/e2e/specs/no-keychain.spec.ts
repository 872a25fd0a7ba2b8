// No keychain on this computer: sign-in stops on a screen that says what to
// do; it never panics and never keeps PHI without the keychain's key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, launchApp, loginError, screenshot, signIn, type RunningApp } from "../support/app";

describe("no keychain", () => {
  let app: RunningApp;
  beforeAll(async () => {
    // A session bus address where nothing listens: no Secret Service.
    app = await launchApp({ env: { DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/claimdesk-no-bus" } });
  });
  afterAll(async () => app?.stop());

  it("explains that a keychain is needed and stays on the login screen", async () => {
    await signIn(app.browser, process.env.CLAIMDESK_E2E_USER ?? "demo", process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password");
    const error = await loginError(app.browser);
    expect(error.code).toBe("keychain_unavailable");
    expect(error.text).toContain("keychain");
    expect(await byTestId(app.browser, "login-password").isDisplayed()).toBe(true);
    await screenshot(app.browser, "login-no-keychain");
  });
});
