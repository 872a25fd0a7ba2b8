// Claims entering through the front door, on the real window: an 837
// imported with `claimdesk-admin intake` puts its claims in an adjudicator's
// queue, and the supervisor's Intake room shows the file with its counts
// and answers (each answer opened is a PHI view in the trail), a shared
// fixture's rejected claims with their reasons, and a file still loading
// with its progress bar, followed until it is done.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, admin, byTestId, launchApp, screenshot, signIn, sql, until, type RunningApp } from "../support/app";

const ADJUDICATOR = [process.env.CLAIMDESK_E2E_USER ?? "demo", process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password"] as const;
const SUPERVISOR = [
  process.env.CLAIMDESK_E2E_SUPERVISOR_USER ?? "super",
  process.env.CLAIMDESK_E2E_SUPERVISOR_PASSWORD ?? "super-password",
] as const;

describe("intake", () => {
  const dir = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "claimdesk-intake-"));
  const home = join(dir, "admin");
  const name = `clearinghouse-${Date.now()}.837`;
  const mixedName = `clearinghouse-${Date.now()}-mixed.837`;
  const fixture = "x12_bad_valid_code.txt";
  let claims: string[] = [];
  let app: RunningApp | undefined;

  beforeAll(() => {
    mkdirSync(home, { recursive: true });
    const file = join(dir, name);
    // Four claims for the seeded members and providers, in two sets.
    admin(["bench", "intake", "--claims", "4", "--per-set", "2", "--write-only", "--out", file], home);
    const printed = admin(["intake", file], home);
    expect(printed).toContain("4 claims taken");
    // Two more (a second later: the generator's control number is the
    // second), the first for a member id nobody has: rejected in the 277CA.
    execFileSync("sleep", ["1.1"]);
    const mixed = join(dir, mixedName);
    admin(["bench", "intake", "--claims", "2", "--per-set", "2", "--write-only", "--out", mixed], home);
    writeFileSync(mixed, readFileSync(mixed, "latin1").replace(/(NM1\*IL\*[^~]*\*MI\*)[^~*]+/, "$1ZZNOSUCH01"), "latin1");
    expect(admin(["intake", mixed], home)).toMatch(/1 claims taken \(.*\), 1 rejected/);
    // A real file from the shared fixtures, copied (answers are written
    // beside it): its set is rejected in the 999, the segment named.
    copyFileSync(join(ROOT, "../shared/fixtures/x12-837", fixture), join(dir, fixture));
    // Exit status 3: nothing in it could be taken.
    let status = 0;
    try {
      admin(["intake", join(dir, fixture)], home);
    } catch (e) {
      status = (e as { status: number }).status;
    }
    expect(status).toBe(3);
    claims = sql(
      `SELECT c.claim_number FROM claimdesk.claim c
       JOIN claimdesk.intake_set s ON s.id = c.intake_set_id
       JOIN claimdesk.intake_interchange i ON i.id = s.interchange_id
       JOIN claimdesk.intake_batch b ON b.id = i.batch_id
       WHERE b.file_name = '${name}' ORDER BY c.claim_number`,
    )
      .split("\n")
      .filter(Boolean);
    expect(claims).toHaveLength(4);
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("puts the file's claims in an adjudicator's queue", async () => {
    app = await launchApp();
    const b = app.browser;
    await signIn(b, ...ADJUDICATOR);
    await byTestId(b, "queue-search").waitForDisplayed({ timeout: 30_000 });
    for (const number of claims) {
      await byTestId(b, "queue-search").setValue(number);
      await until(
        b,
        async () => (await b.$$('[data-testid="found-claim"]').map((e) => e.getText())).some((t) => t.includes(number)),
        `claim ${number} from the 837 is not in the queue`,
        45_000,
      );
    }
    await b.keys("Enter");
    await byTestId(b, "workspace-claim-number").waitForDisplayed({ timeout: 15_000 });
    expect(await byTestId(b, "workspace-claim-number").getText()).toBe(claims[claims.length - 1]);
    // Its lines are the file's (the generator writes two per claim).
    const lines = Number(
      sql(`SELECT count(*) FROM claimdesk.claim_line l JOIN claimdesk.claim c ON c.id = l.claim_id
           WHERE c.claim_number = '${claims[claims.length - 1]}'`),
    );
    expect(lines).toBeGreaterThan(0);
    await until(b, async () => (await b.$$('[data-testid="line-row"]').length) === lines, "the claim's lines are not shown");
    await screenshot(b, "intake-claim-in-workspace");
    await app.stop();
    app = undefined;
  });

  it("shows the supervisor each file with its counts and answers, and a file loading with its progress", async () => {
    app = await launchApp();
    const b = app.browser;
    await signIn(b, ...SUPERVISOR);
    await byTestId(b, "tab-intake").waitForDisplayed({ timeout: 30_000 });
    await byTestId(b, "tab-intake").click();
    const row = b.$(`[data-testid="intake-row"][data-file="${name}"]`);
    await row.waitForDisplayed({ timeout: 20_000 });
    expect(await row.getAttribute("data-state")).toBe("complete");
    expect(await row.$('[data-testid="intake-accepted"]').getText()).toBe("4");
    expect(await row.$('[data-testid="intake-rejected"]').getText()).toBe("0");
    expect(await row.getText()).toMatch(/BENCH\d{6}/);

    // One claim of two rejected in the 277CA, the reason listed.
    const mixedRow = b.$(`[data-testid="intake-row"][data-file="${mixedName}"]`);
    expect(await mixedRow.$('[data-testid="intake-accepted"]').getText()).toBe("1");
    expect(await mixedRow.$('[data-testid="intake-rejected"]').getText()).toBe("1");
    await mixedRow.$("td.file").click();
    await b.$(`[data-testid="intake-detail"]`).waitForDisplayed();
    await until(b, async () => (await b.$$('[data-testid="intake-rejection"]').length) === 1, "the rejection is not listed");
    expect(await b.$('[data-testid="intake-rejection"]').getAttribute("data-reason")).toBe("member_not_found");
    expect(await b.$('[data-testid="intake-rejection"]').getText()).toContain("no member has this member id");

    // Its answers: the 999 accepts the set, the 277CA rejects the claim.
    // Each opened is a PHI view in the trail.
    const views = () =>
      Number(sql(`SELECT count(*) FROM claimdesk.audit_log WHERE action = 'view' AND resource_type = 'intake_ack' AND db_user = '${SUPERVISOR[0]}'`));
    const before = views();
    const segments = () => b.$$('[data-testid="answer-segment"]').map((e) => e.getText());
    await b.$('[data-testid="intake-answer"][data-kind="999"]').click();
    await b.$('[data-testid="intake-answer-view"][data-kind="999"]').waitForDisplayed();
    expect((await segments())[0]).toMatch(/^ISA\*/);
    expect((await segments()).some((s) => /^AK9\*A\*1\*1\*1~$/.test(s))).toBe(true);
    await b.$('[data-testid="intake-answer"][data-kind="277CA"]').click();
    await b.$('[data-testid="intake-answer-view"][data-kind="277CA"]').waitForDisplayed();
    await until(b, async () => (await segments()).some((s) => s.startsWith("STC*A7:164")), "the 277CA's rejection is not shown");
    expect(views()).toBe(before + 2);
    await screenshot(b, "supervisor-intake");

    // The fixture: its set rejected, and the 999 names the segment,
    // its position, loop and element.
    const fixtureRow = b.$(`[data-testid="intake-row"][data-file="${fixture}"]`);
    expect(await fixtureRow.$('[data-testid="intake-accepted"]').getText()).toBe("0");
    expect(await fixtureRow.getAttribute("data-state")).toBe("rejected");
    await fixtureRow.$("td.file").click();
    await until(
      b,
      async () => (await b.$$('[data-testid="intake-set"][data-accepted="false"]').length) === 1,
      "the fixture's rejected set is not shown",
    );
    await b.$('[data-testid="intake-answer"][data-kind="999"]').click();
    await until(b, async () => (await segments()).includes("IK3*NM1*7*2000A*8~"), "the 999 does not name the segment");
    expect(await segments()).toContain("IK5*R*4*5~");

    // A large file still being read: the bar shows how far, and the room
    // follows it to the end by itself.
    const id = sql(
      `INSERT INTO claimdesk.intake_batch (id, file_name, file_sha256, file_bytes, bytes_read, received_at, status)
       VALUES (gen_random_uuid(), 'big-${Date.now()}.837', sha256(random()::text::bytea), 40000000, 10000000, now(), 'receiving')
       RETURNING id`,
    );
    const bar = b.$(`[data-testid="intake-row"][data-state="loading"] [data-testid="intake-progress"]`);
    await bar.waitForDisplayed({ timeout: 20_000 });
    expect(await bar.getAttribute("aria-valuenow")).toBe("25");
    sql(`UPDATE claimdesk.intake_batch SET bytes_read = 30000000 WHERE id = '${id}'`);
    await until(b, async () => (await bar.getAttribute("aria-valuenow")) === "75", "the progress bar did not follow the file", 10_000);
    await screenshot(b, "supervisor-intake-loading");
    sql(`UPDATE claimdesk.intake_batch SET status = 'complete', bytes_read = file_bytes, completed_at = now() WHERE id = '${id}'`);
    await until(
      b,
      async () => !(await b.$('[data-testid="intake-row"][data-state="loading"]').isExisting()),
      "the finished file still shows as loading",
      10_000,
    );
  });
});
