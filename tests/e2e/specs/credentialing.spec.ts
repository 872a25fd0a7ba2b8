// The credentialing room on the real window, signed in as a credentialing
// specialist: no claims and no member PHI (the UI offers none, and central
// refuses them); a provider found in the directory; our record compared
// with the NPI Registry's (a local server replaying its recorded answers)
// and the check recorded as a verification, who and when from central; the
// expiring list behind its count; an LEIE file imported with a progress bar,
// the provider it names flagged and their open claims pended.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, invokeCommand, launchApp, screenshot, signIn, sql, until, type RunningApp } from "../support/app";
import { startRegistry, type Registry } from "../support/nppes";

const USER = process.env.CLAIMDESK_E2E_CRED_USER ?? "cred";
const PASSWORD = process.env.CLAIMDESK_E2E_CRED_PASSWORD ?? "cred-password";


const LEIE_HEADER =
  "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,STATE,ZIP,EXCLTYPE,EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE";

describe("credentialing", () => {
  let app: RunningApp;
  let registry: Registry;
  let hiza: { id: string; license: string; dea: string };
  let excluded: { id: string; npi: string; open: number };

  beforeAll(async () => {
    // Dr Hiza as the registry has her (recording api-b2f594), but with our
    // ZIP one digit off; her DEA registration expires in ten days.
    const [id, license, dea] = sql(
      `SELECT p.id, l.id, d.id FROM claimdesk.provider p
       JOIN claimdesk.provider_credential l ON l.provider_id = p.id AND l.credential_type = 'medical_license'
       JOIN claimdesk.provider_credential d ON d.provider_id = p.id AND d.credential_type = 'dea'
       WHERE p.entity_type = 'individual' AND NOT p.excluded AND p.npi <> '1720377294'
         AND NOT EXISTS (SELECT FROM claimdesk.provider h WHERE h.npi = '1720377294')
       ORDER BY p.id LIMIT 1`,
    ).split("|");
    if (id) {
      sql(`UPDATE claimdesk.provider SET npi = '1720377294', first_name = 'Elise', last_name = 'Hiza',
             credential_suffix = 'MD', taxonomy_code = '207X00000X', specialty = 'Orthopaedic Surgery',
             address_line1 = '111 Victoria Road', city = 'Asheville', state = 'NC', postal_code = '28805'
           WHERE id = '${id}'`);
      sql(`UPDATE claimdesk.provider_credential SET credential_number = '2017-01132', state = 'NC' WHERE id = '${license}'`);
      sql(`UPDATE claimdesk.provider_credential SET status = 'verified', expiration_date = current_date + 10 WHERE id = '${dea}'`);
      hiza = { id, license, dea };
    } else {
      // A rerun on the same database: she is already there.
      const [hid, hl, hd] = sql(
        `SELECT p.id, l.id, d.id FROM claimdesk.provider p
         JOIN claimdesk.provider_credential l ON l.provider_id = p.id AND l.credential_type = 'medical_license'
         JOIN claimdesk.provider_credential d ON d.provider_id = p.id AND d.credential_type = 'dea'
         WHERE p.npi = '1720377294'`,
      ).split("|");
      hiza = { id: hid, license: hl, dea: hd };
    }
    // A provider with a few open claims, for the LEIE file to name.
    const [pid, npi, open] = sql(
      `SELECT p.id, p.npi, count(*) FROM claimdesk.provider p JOIN claimdesk.claim c ON c.provider_id = p.id
       WHERE NOT p.excluded AND p.id <> '${hiza.id}' AND c.status IN ('received', 'in_review', 'appealed')
       GROUP BY p.id, p.npi HAVING count(*) BETWEEN 1 AND 6 ORDER BY count(*), p.id LIMIT 1`,
    ).split("|");
    expect(pid, "the seed has a provider with open claims").toBeTruthy();
    excluded = { id: pid, npi, open: Number(open) };

    registry = await startRegistry();
    app = await launchApp({ env: { CLAIMDESK_NPPES_BASE_URL: registry.baseUrl } });
    await signIn(app.browser, USER, PASSWORD);
  });

  afterAll(async () => {
    await app?.stop();
    await registry?.close();
  });

  it("opens the credentialing room, with no claims and no member PHI", async () => {
    const b = app.browser;
    await byTestId(b, "credentialing").waitForDisplayed({ timeout: 20_000 });
    // No claims desk to switch to, no queue.
    expect(await byTestId(b, "room-desk").isExisting()).toBe(false);
    expect(await byTestId(b, "queue-body").isExisting()).toBe(false);
    // Asked directly, the app's own command refuses a claim (central's grants).
    const claim = sql(`SELECT id FROM claimdesk.claim ORDER BY id LIMIT 1`);
    expect(await invokeCommand(b, "open_claim", { id: claim })).toMatchObject({ error: { code: "permission_denied" } });
    // And the database itself: the login may not read members or claims.
    for (const table of ["member", "claim"]) {
      expect(() => sql(`SET ROLE "${USER}"; SELECT count(*) FROM claimdesk.${table}`)).toThrow(/permission denied/);
    }
    // Nothing was recorded as a PHI view by this login.
    expect(sql(`SELECT count(*) FROM claimdesk.audit_log WHERE db_user = '${USER}' AND action = 'view'`)).toBe("0");
  });

  it("finds a provider in the directory", async () => {
    const b = app.browser;
    await until(b, async () => (await byTestId(b, "provider-count").getText()).includes("providers"), "the directory did not load");
    // An NPI typed with a wrong check digit is named as such, not just "nothing found".
    await byTestId(b, "provider-search").setValue("1720377295");
    await byTestId(b, "npi-problem").waitForDisplayed();
    expect(await byTestId(b, "npi-problem").getText()).toContain("check digit");
    await byTestId(b, "provider-search").setValue("hiza");
    await byTestId(b, "npi-problem").waitForExist({ reverse: true });
    await until(b, async () => (await b.$$('[data-testid="provider-row"]').length) === 1, "searching 'hiza' did not narrow to one provider");
    await byTestId(b, "provider-row").click();
    await byTestId(b, "provider-profile").waitForDisplayed();
    expect(await byTestId(b, "profile-name").getText()).toContain("Hiza, Elise");
    expect(await byTestId(b, "profile-npi").getText()).toBe("1720377294");
  });

  it("compares the provider with NPPES and records the check as a verification", async () => {
    const b = app.browser;
    await byTestId(b, "compare-nppes").click();
    await byTestId(b, "nppes-compare").waitForDisplayed({ timeout: 15_000 });
    expect(registry.asked).toContain("1720377294");
    const rows = await b.$$('[data-testid="compare-row"]');
    const seen: { text: string; agreement: string | null }[] = [];
    for (const row of rows) seen.push({ text: await row.getText(), agreement: await row.getAttribute("data-agreement") });
    // The ZIP differs and is marked; the NC license agrees.
    expect(seen.find((r) => r.text.startsWith("ZIP"))?.agreement).toBe("differs");
    expect(seen.find((r) => r.text.startsWith("License (NC)"))?.agreement).toBe("same");
    expect(await byTestId(b, "nppes-summary").getText()).toMatch(/\d+ of \d+ fields differ/);
    await screenshot(b, "credentialing-nppes-compare");

    await byTestId(b, "verify-from-nppes").click();
    const form = byTestId(b, "verify-form");
    await form.waitForDisplayed();
    expect(await byTestId(b, "verify-source").getValue()).toBe("NPPES NPI Registry");
    expect(await byTestId(b, "verify-result").getValue()).toBe("discrepancy");
    expect(await byTestId(b, "verify-notes").getValue()).toContain("ZIP");
    await byTestId(b, "verify-save").click();
    await until(b, async () => (await byTestId(b, "cred-notice").isExisting()), "the verification was not confirmed");
    expect(await byTestId(b, "cred-notice").getText()).toContain(`recorded by ${USER}`);

    // On central: who and when from the session, the change audited.
    const [by, source, result, notes] = sql(
      `SELECT verified_by, source, result, notes FROM claimdesk.credential_verification
       WHERE credential_id = '${hiza.license}' ORDER BY verified_at DESC LIMIT 1`,
    ).split("|");
    expect([by, source, result]).toEqual([USER, "NPPES NPI Registry", "discrepancy"]);
    expect(notes).toContain("ZIP");
    expect(
      Number(sql(`SELECT count(*) FROM claimdesk.audit_log WHERE db_user = '${USER}' AND resource_type = 'credential_verification'`)),
    ).toBeGreaterThan(0);
    // The profile shows it at once: the license is pending again after a discrepancy.
    const license = await b.$(`[data-testid="credential-row"][data-type="medical_license"] [data-testid="credential-status"]`);
    await until(b, async () => (await license.getText()) === "pending", "the license's status did not follow the verification");
  });

  it("says so in words when the registry has no match for the provider's name", async () => {
    const b = app.browser;
    const asked = registry.asked.length;
    await byTestId(b, "nppes-search").click();
    await byTestId(b, "nppes-no-match").waitForDisplayed({ timeout: 15_000 });
    expect(await byTestId(b, "nppes-no-match").getText()).toBe("The NPI Registry has no provider matching Elise Hiza, NC.");
    expect(registry.asked.length).toBe(asked + 1);
  });

  it("shows the credentials expiring within 30 days behind their count", async () => {
    const b = app.browser;
    await b.keys("Escape");
    const expected = Number(
      sql(`SELECT count(*) FROM claimdesk.provider_credential
           WHERE status NOT IN ('revoked', 'expired') AND expiration_date <= (now() AT TIME ZONE 'UTC')::date + 30`),
    );
    await until(b, async () => Number(await byTestId(b, "count-expiring_30").getText()) === expected, `the count is not ${expected}`);
    await byTestId(b, "tile-expiring_30").click();
    await byTestId(b, "work-list").waitForDisplayed();
    // Read in one pass in the page: the list may redraw between reads of
    // its rows (its counts refresh), which made element handles stale.
    let texts: string[] = [];
    await until(
      b,
      async () => {
        texts = await b.execute(() =>
          Array.from(document.querySelectorAll('[data-testid="work-row"]')).map((e) => (e as HTMLElement).innerText),
        );
        return texts.length === expected;
      },
      `the list does not show the ${expected} credentials`,
    );
    expect(texts.some((t) => t.includes("1720377294") && t.includes("DEA"))).toBe(true);
    await screenshot(b, "credentialing-expiring");
  });

  it("imports an LEIE file: the provider is flagged and their claims pended", async () => {
    const b = app.browser;
    const file = join(mkdtempSync(join(tmpdir(), "claimdesk-leie-")), "UPDATED.csv");
    writeFileSync(
      file,
      `${LEIE_HEADER}\r\n` +
        `DOE,JANE,Q,,IND- LIC HC SERV PRO,NURSE/NURSES AIDE,,${excluded.npi},19700101,1 MAIN ST,TULSA,OK,74101,1128a1,20250115,,,\r\n` +
        `SMITH,JOHN,,,,,,0000000000,,,NOWHERE,ZZ,,1128b4,20240301,,,\r\n`,
    );
    await byTestId(b, "leie-open").click();
    await byTestId(b, "leie-dialog").waitForDisplayed();
    await byTestId(b, "leie-file").setValue(file);
    await byTestId(b, "leie-start").click();
    await byTestId(b, "leie-report").waitForDisplayed({ timeout: 30_000 });
    expect(await byTestId(b, "leie-progress").isDisplayed()).toBe(true);
    expect(await b.$('[data-testid="leie-progress"] progress').getAttribute("value")).toBe("100");
    const flagged = await b.$$('[data-testid="leie-flagged-row"]');
    expect(flagged.length).toBe(1);
    expect(await flagged[0].getText()).toContain(excluded.npi);
    expect(await byTestId(b, "leie-pended").getText()).toBe(String(excluded.open));
    await screenshot(b, "credentialing-leie-report");

    // Central: flagged, and every open claim pended with the reason.
    expect(sql(`SELECT excluded, exclusion_source FROM claimdesk.provider WHERE id = '${excluded.id}'`)).toBe("t|oig_leie");
    expect(
      sql(`SELECT count(*) FROM claimdesk.claim WHERE provider_id = '${excluded.id}' AND status IN ('received', 'in_review', 'appealed')`),
    ).toBe("0");
    expect(
      Number(sql(`SELECT count(*) FROM claimdesk.claim WHERE provider_id = '${excluded.id}' AND pend_reason = 'provider_excluded'`)),
    ).toBe(excluded.open);

    // The report's row opens the provider, shown excluded.
    await byTestId(b, "leie-flagged-open").click();
    await byTestId(b, "profile-excluded").waitForDisplayed({ timeout: 15_000 });
  });
});
