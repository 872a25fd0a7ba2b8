// The supervisor's room on the real window: the team dashboard's figures
// against the database, following new work by itself; the trail filtered to one
// member and exported (the export itself in the trail), a row tampered with
// by the database owner and the chain check naming it, the per-member
// access report, a held claim released to the queue, and a claim routed
// above authority approved with a note.
import { existsSync, readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTestId, launchApp, screenshot, signIn, sql, until, type RunningApp } from "../support/app";

const USER = process.env.CLAIMDESK_E2E_SUPERVISOR_USER ?? "super";
const PASSWORD = process.env.CLAIMDESK_E2E_SUPERVISOR_PASSWORD ?? "super-password";


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

  it("shows the team's figures as the database has them, and follows new work by itself", async () => {
    const b = app.browser;
    await byTestId(b, "team-dashboard").waitForDisplayed({ timeout: 20_000 });
    const kpi = async (id: string) => Number(await byTestId(b, id).getAttribute("data-value"));
    await byTestId(b, "kpi-waiting").waitForDisplayed({ timeout: 20_000 });
    const waiting = Number(sql(`SELECT count(*) FROM claimdesk.claim WHERE status IN ('received', 'in_review', 'appealed')`));
    expect(await kpi("kpi-waiting")).toBe(waiting);
    expect(await kpi("kpi-pended")).toBe(Number(sql(`SELECT count(*) FROM claimdesk.claim WHERE status = 'pended'`)));
    // Past due by the desk's calendar day, on the queue's own due dates
    // (the documents spec moves a claim to the head through them).
    const d = new Date();
    const today = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    const overdue = Number(sql(`SELECT count(*) FROM claimdesk.queue_entry WHERE prompt_pay_due < '${today}'`));
    expect(await kpi("kpi-overdue")).toBe(overdue);
    if (overdue > 0) expect(Number(await byTestId(b, "kpi-exposure").getAttribute("data-value"))).toBeGreaterThan(0);
    // The four charts, the depth one with a line per priority and the pended.
    for (const chart of ["chart-depth", "chart-aging", "chart-outcomes", "chart-rates"]) {
      await byTestId(b, chart).waitForDisplayed();
    }
    for (const series of ["Urgent", "High", "Normal", "Low", "Pended"]) {
      expect(await b.$(`[data-testid="chart-depth"] [data-series="${series}"]`).isExisting()).toBe(true);
    }
    // Work done elsewhere: a waiting claim denied on central. The dashboard
    // (24 hours, read every 15 s) shows it on its next read, nobody
    // touching the window.
    const before = await kpi("kpi-decided");
    sql(`UPDATE claimdesk.claim SET status = 'denied', denial_group_code = 'CO', denial_carc = '16',
           denial_explanation = 'Missing information.', adjudicated_by = session_user, adjudicated_at = now()
         WHERE id = (SELECT q.claim_id FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id
                     WHERE c.status = 'received' AND q.lease_holder IS NULL ORDER BY c.claim_number DESC LIMIT 1)`);
    await until(
      b,
      async () => (await kpi("kpi-waiting")) === waiting - 1 && (await kpi("kpi-decided")) === before + 1,
      "the dashboard did not follow the denial by itself",
      45_000,
    );

    await byTestId(b, "span-month").click();
    await until(b, async () => (await b.$$('[data-testid="throughput-row"]').length) > 0, "nobody's throughput over 30 days");
    await screenshot(b, "supervisor-dashboard");
  });

  it("filters the trail to one member and exports it, the export recorded", async () => {
    const b = app.browser;
    await byTestId(b, "supervisor").waitForDisplayed({ timeout: 20_000 });
    await byTestId(b, "tab-trail").click();
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

    // Any event will do; the earliest one whose action can be changed to
    // another, whatever the specs before have (or have not) recorded.
    const [seq, action] = sql(`SELECT seq, action FROM claimdesk.audit_log WHERE action <> 'release' ORDER BY seq LIMIT 1`).split("|");
    expect(seq, "the trail is empty").toBeTruthy();
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

  it("releases a claim someone holds, and the release is in the trail", async () => {
    const b = app.browser;
    const [claim, number] = sql(
      `SELECT q.claim_id, c.claim_number FROM claimdesk.queue_entry q JOIN claimdesk.claim c ON c.id = q.claim_id
       WHERE q.lease_holder IS NULL AND NOT q.pended ORDER BY q.claim_id DESC LIMIT 1`,
    ).split("|");
    sql(`UPDATE claimdesk.queue_entry SET lease_holder = 'demo', leased_at = now() - interval '20 minutes',
           lease_expires_at = now() + interval '10 minutes' WHERE claim_id = '${claim}'`);
    await byTestId(b, "tab-leases").click();
    const row = b.$(`[data-testid="lease-row"][data-claim="${number}"]`);
    await row.waitForDisplayed({ timeout: 15_000 });
    expect(await row.getText()).toContain("demo");
    await screenshot(b, "supervisor-leases");
    await row.$('[data-testid="lease-release"]').click();
    await until(b, async () => !(await row.isExisting()), "the released claim is still listed");
    expect(sql(`SELECT lease_holder IS NULL FROM claimdesk.queue_entry WHERE claim_id = '${claim}'`)).toBe("t");
    expect(
      sql(`SELECT db_user, old_values ->> 'lease_holder' FROM claimdesk.audit_log
           WHERE action = 'reassign' AND resource_id = '${claim}' ORDER BY seq DESC LIMIT 1`),
    ).toBe(`${USER}|demo`);
  });

  it("approves a claim routed above its adjudicator's authority, with a note", async () => {
    const b = app.browser;
    const [claim, number] = sql(
      `UPDATE claimdesk.claim SET requires_approval = true, approved_by = NULL, approved_at = NULL,
              adjudicated_by = 'demo', adjudicated_at = now()
       WHERE id = (SELECT id FROM claimdesk.claim WHERE status = 'approved' AND NOT requires_approval ORDER BY id LIMIT 1)
       RETURNING id, claim_number`,
    ).split("|");
    await byTestId(b, "tab-approvals").click();
    const row = b.$(`[data-testid="routed-row"][data-claim="${number}"]`);
    await row.waitForDisplayed({ timeout: 15_000 });
    // A decision without a note is refused in words, and nothing changes.
    await row.$('[data-testid="routed-approve"]').click();
    await byTestId(b, "sup-error").waitForDisplayed();
    expect(sql(`SELECT approved_by IS NULL FROM claimdesk.claim WHERE id = '${claim}'`)).toBe("t");
    await row.$('[data-testid="routed-note"]').setValue("Operative report supports the units");
    await screenshot(b, "supervisor-approvals");
    await row.$('[data-testid="routed-approve"]').click();
    await until(b, async () => !(await row.isExisting()), "the approved claim is still waiting");
    expect(sql(`SELECT approved_by, status FROM claimdesk.claim WHERE id = '${claim}'`)).toBe(`${USER}|approved`);
    expect(sql(`SELECT body FROM claimdesk.claim_note WHERE claim_id = '${claim}' AND author = '${USER}'`)).toBe(
      "Approved for payment: Operative report supports the units",
    );
  });
});
