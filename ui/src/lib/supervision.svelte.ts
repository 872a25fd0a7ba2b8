import {
  commands,
  type AuditDetail_Serialize as AuditDetail,
  type AuditEntry_Serialize as AuditEntry,
  type AuditFilter_Deserialize as AuditFilter,
  type ChainCheck_Serialize as ChainCheck,
  type CommandError,
  type MemberAccess,
  type MemberRef,
} from "./bindings";
import { asCommandError } from "./errors";
import { PAGE, emptyFilter, toFilter, type FilterForm } from "./audit";

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

/**
 * The supervisor's audit room: the trail filtered and paged, an event's
 * values, chain verification, the per-member access report, exports.
 */
export class Supervision {
  form = $state<FilterForm>(emptyFilter());
  /** The filter the shown events answer. */
  applied = $state<AuditFilter | null>(null);
  entries = $state<AuditEntry[]>([]);
  nextBefore = $state<number | null>(null);
  loading = $state(false);
  detail = $state<AuditDetail | null>(null);
  check = $state<ChainCheck | null>(null);
  checking = $state(false);
  member = $state<MemberRef | null>(null);
  access = $state<MemberAccess[]>([]);
  error = $state<CommandError | null>(null);
  notice = $state<string | null>(null);

  async #run<T>(call: Promise<Result<T>>): Promise<T | null> {
    try {
      const result = await call;
      if (result.status === "error") {
        this.error = result.error;
        return null;
      }
      return result.data;
    } catch (thrown) {
      this.error = asCommandError(thrown);
      return null;
    }
  }

  /** Applies the form: resolves its numbers, then loads the newest page. */
  async search(): Promise<void> {
    this.error = null;
    this.loading = true;
    try {
      const f = this.form;
      const ids =
        f.memberNumber.trim() || f.claimNumber.trim() || f.npi.trim()
          ? await this.#run(commands.resolveAuditSubjects(f.memberNumber || null, f.claimNumber || null, f.npi || null))
          : { member_id: null, claim_id: null, provider_id: null };
      if (!ids) return;
      const filter = toFilter(f, ids);
      const page = await this.#run(commands.auditPage(filter, null, PAGE));
      if (!page) return;
      this.applied = filter;
      this.entries = page.entries;
      this.nextBefore = page.next_before;
      this.detail = null;
    } finally {
      this.loading = false;
    }
  }

  /** The next (older) page, after the last one shown. */
  async more(): Promise<void> {
    if (!this.applied || this.nextBefore === null) return;
    this.loading = true;
    try {
      const page = await this.#run(commands.auditPage(this.applied, this.nextBefore, PAGE));
      if (!page) return;
      this.entries = [...this.entries, ...page.entries];
      this.nextBefore = page.next_before;
    } finally {
      this.loading = false;
    }
  }

  async open(seq: number): Promise<void> {
    const detail = await this.#run(commands.auditEntry(seq));
    if (detail) this.detail = detail;
  }

  async verify(): Promise<void> {
    this.checking = true;
    this.error = null;
    try {
      const check = await this.#run(commands.verifyAuditChain());
      if (check) this.check = check;
    } finally {
      this.checking = false;
    }
  }

  async exportCsv(): Promise<void> {
    if (!this.applied) return;
    const done = await this.#run(commands.exportAudit(this.applied));
    if (done) this.notice = `Exported ${done.rows.toLocaleString("en-US")} events to ${done.path}. The export is recorded in the trail.`;
  }

  /** The access report for a member number. */
  async report(memberNumber: string): Promise<void> {
    this.error = null;
    const member = await this.#run(commands.findMember(memberNumber));
    if (!member) return;
    const access = await this.#run(commands.memberAccessReport(member.id));
    if (!access) return;
    this.member = member;
    this.access = access;
  }

  /** The member's events in the trail. */
  async memberEvents(memberNumber: string): Promise<void> {
    this.form = { ...emptyFilter(), memberNumber };
    await this.search();
  }
}
