// A broken settings file: the app starts, says what is wrong, and does not
// try a default server behind the person's back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, launchApp, loginError, type RunningApp } from "../support/app";

describe("invalid settings file", () => {
  let app: RunningApp;
  beforeAll(async () => {
    // Clear the overrides so the file is what counts.
    app = await launchApp({
      settingsFile: '[central]\nport = "five thousand"\n',
      env: { CLAIMDESK_CENTRAL_PORT: "", CLAIMDESK_CENTRAL_HOST: "", CLAIMDESK_CENTRAL_DATABASE: "" },
    });
  });
  afterAll(async () => app?.stop());

  it("shows the problem and the file, and disables login", async () => {
    const error = await loginError(app.browser);
    expect(error.code).toBe("settings_invalid");
    expect(error.text).toContain("settings.toml");
    expect(await byTestId(app.browser, "login-submit").isEnabled()).toBe(false);
  });
});
