// The supervisor's audit room on the real window: the trail filtered to one
// member and exported (the export itself in the trail), a row tampered with
// by the database owner and the chain check naming it, and the per-member
// access report.
import { existsSync, readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, launchApp, screenshot, signIn, sql, type RunningApp } from "../support/app";

const USER = process.env.CLAIMDESK_E2E_SUPERVISOR_USER ?? "super";
const PASSWORD = process.env.CLAIMDESK_E2E_SUPERVISOR_PASSWORD ?? "super-password";

type B = RunningApp["browser"];

async function until(b: B, what: () => boolean | Promise<boolean>, message: string, timeout = 20_000): Promise<void> {
  await b.waitUntil(async () => await what(), { timeout, interval: 200, timeoutMsg: message });
}

describe("supervision", () => {
  let app: RunningApp;
  let member: { id: string; number: string };

  beforeAll(async () => {
    // A member whose records have been looked at (by the specs before, or here).
    let [id, number] = sql(
      `SELECT m.id, m.member_number FROM claimdesk.member m
       WHERE EXISTS (SELECT FROM claimdesk.audit_log a WHERE a.member_id = m.id AND a.action = 'view')
       ORDER BY m.id LIMIT 1`,
    ).split("|");
    if (!id) {
      [id, number] = sql(`SELECT id, member_number FROM claimdesk.member ORDER BY id LIMIT 1`).split("|");
      sql(`SELECT claimdesk.audit_append('view', 'member', '${id}', '${id}', true)`);
    }
    member = { id, number };
    app = await launchApp();
    await signIn(app.browser, USER, PASSWORD);
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("filters the trail to one member and exports it, the export recorded", async () => {
    const b = app.browser;
    await byTestId(b, "supervisor").waitForDisplayed({ timeout: 20_000 });
    await until(b, async () => (await b.$$('[data-testid="audit-row"]').length) > 0, "the trail did not load");
    await byTestId(b, "f-member").setValue(member.number);
    await byTestId(b, "audit-search").click();
    const expected = Math.min(100, Number(sql(`SELECT count(*) FROM claimdesk.audit_log WHERE member_id = '${member.id}'`)));
    await until(
      b,
      async () => (await b.$$('[data-testid="audit-row"]').length) === expected,
      `the member filter did not show ${expected} events`,
    );
    // Every row shown is this member's.
    const shown: string[] = [];
    for (const row of await b.$$('[data-testid="audit-row"]')) shown.push((await row.getAttribute("data-seq")) ?? "");
    const theirs = sql(
      `SELECT string_agg(seq::text, ',' ORDER BY seq DESC) FROM (SELECT seq FROM claimdesk.audit_log
       WHERE member_id = '${member.id}' ORDER BY seq DESC LIMIT 100) s`,
    );
    expect(shown.join(",")).toBe(theirs);

    // An event's values open beside the list (and that look is recorded).
    const before = Number(sql(`SELECT count(*) FROM claimdesk.audit_log WHERE db_user = '${USER}' AND action = 'view'`));
    await byTestId(b, "audit-open").click();
    await byTestId(b, "audit-detail").waitForDisplayed();
    await until(
      b,
      () => Number(sql(`SELECT count(*) FROM claimdesk.audit_log WHERE db_user = '${USER}' AND action = 'view'`)) > before,
      "opening an event with PHI was not recorded",
    );
    await screenshot(b, "supervisor-trail-member");

    await byTestId(b, "audit-export").click();
    await byTestId(b, "sup-notice").waitForDisplayed({ timeout: 20_000 });
    const notice = await byTestId(b, "sup-notice").getText();
    const path = /to (\/\S+\.csv)\./.exec(notice)?.[1];
    expect(path, notice).toBeTruthy();
    expect(existsSync(path!)).toBe(true);
    expect(statSync(path!).mode & 0o777).toBe(0o600);
    const lines = readFileSync(path!, "utf8").trim().split("\n");
    const all = Number(sql(`SELECT count(*) FROM claimdesk.audit_log WHERE member_id = '${member.id}' AND NOT (action = 'export' AND resource_type = 'audit_log')`));
    expect(lines[0]).toContain("seq,occurred_at,user,role,action");
    expect(lines.length - 1).toBeGreaterThanOrEqual(all - 1);
    const [who, rows] = sql(
      `SELECT db_user, new_values ->> 'rows' FROM claimdesk.audit_log
       WHERE action = 'export' AND resource_type = 'audit_log' ORDER BY seq DESC LIMIT 1`,
    ).split("|");
    expect(who).toBe(USER);
    expect(Number(rows)).toBe(lines.length - 1);
  });

  it("reports the row the database owner altered when the chain is verified", async () => {
    const b = app.browser;
    await byTestId(b, "chain-verify").click();
    await byTestId(b, "chain-result").waitForDisplayed({ timeout: 60_000 });
    expect(await byTestId(b, "chain-result").getAttribute("data-broken")).toBe("false");
    await b.$('[data-testid="chain-result"] .link').click();

    const [seq, action] = sql(`SELECT seq, action FROM claimdesk.audit_log WHERE action = 'view' ORDER BY seq LIMIT 1 OFFSET 2`).split("|");
    const tamper = (to: string) =>
      sql(`SET session_replication_role = replica; UPDATE claimdesk.audit_log SET action = '${to}' WHERE seq = ${seq}`);
    tamper("release");
    try {
      await byTestId(b, "chain-verify").click();
      await until(b, async () => (await byTestId(b, "chain-result").getAttribute("data-broken")) === "true", "the altered row was not found");
      expect(await byTestId(b, "chain-result").getText()).toContain(`event ${seq} was altered`);
      await byTestId(b, "chain-show").click();
      await byTestId(b, "audit-detail").waitForDisplayed();
      expect(await b.$('[data-testid="audit-detail"] h2').getText()).toBe(`Event ${seq}`);
      await screenshot(b, "supervisor-chain-broken");
    } finally {
      tamper(action);
    }
    await byTestId(b, "chain-verify").click();
    await until(b, async () => (await byTestId(b, "chain-result").getAttribute("data-broken")) === "false", "restored, the chain is whole again");
  });

  it("shows who accessed a member's records", async () => {
    const b = app.browser;
    await byTestId(b, "tab-access").click();
    await byTestId(b, "access-member").setValue(member.number);
    await byTestId(b, "access-run").click();
    await byTestId(b, "access-table").waitForDisplayed();
    const people = sql(`SELECT count(DISTINCT (db_user, db_role)) FROM claimdesk.audit_log WHERE member_id = '${member.id}'`);
    await until(
      b,
      async () => String((await b.$$('[data-testid="access-row"]').length)) === people,
      `the report did not list ${people} people`,
    );
    const names: string[] = [];
    for (const row of await b.$$('[data-testid="access-row"]')) names.push(await row.getText());
    expect(names.some((n) => n.startsWith(USER))).toBe(true);
    await screenshot(b, "supervisor-access-report");
  });
});
