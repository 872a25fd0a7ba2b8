// A database name that does not exist on the server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchApp, loginError, signIn, type RunningApp } from "../support/app";

describe("unknown database", () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await launchApp({ env: { CLAIMDESK_CENTRAL_DATABASE: "no_such_claims_db" } });
  });
  afterAll(async () => app?.stop());

  it("names the database and says where to fix it", async () => {
    await signIn(app.browser, process.env.CLAIMDESK_E2E_USER ?? "demo", process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password");
    const error = await loginError(app.browser);
    expect(error.code).toBe("unknown_database");
    expect(error.text).toContain("no_such_claims_db");
    expect(error.text).toContain("settings file");
  });
});
