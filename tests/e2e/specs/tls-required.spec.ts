// A server whose rules admit only encrypted connections, with TLS off here.
// scripts/pg-cluster sets `hostnossl claimdesk_tls_only ... reject`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchApp, loginError, signIn, type RunningApp } from "../support/app";

describe("TLS required by the server", () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await launchApp({
      env: { CLAIMDESK_CENTRAL_DATABASE: "claimdesk_tls_only", CLAIMDESK_CENTRAL_TLS_MODE: "disable" },
    });
  });
  afterAll(async () => app?.stop());

  it("explains that the connection must be encrypted", async () => {
    await signIn(app.browser, process.env.CLAIMDESK_E2E_USER ?? "demo", process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password");
    const error = await loginError(app.browser);
    expect(error.code).toBe("tls_required");
    expect(error.text).toContain("only accepts encrypted connections");
  });
});
