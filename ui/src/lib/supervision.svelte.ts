import {
  commands,
  type AuditDetail_Serialize as AuditDetail,
  type AuditEntry_Serialize as AuditEntry,
  type AuditFilter_Deserialize as AuditFilter,
  type ChainCheck_Serialize as ChainCheck,
  type CommandError,
  type HeldClaim,
  type MemberAccess,
  type MemberRef,
  type RoutedClaim_Serialize as RoutedClaim,
} from "./bindings";
import { settle, type CommandResult } from "./errors";
import { PAGE, emptyFilter, toFilter, type FilterForm } from "./audit";

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
  leases = $state<HeldClaim[]>([]);
  adjudicators = $state<string[]>([]);
  routed = $state<RoutedClaim[]>([]);
  /** Notes being written for routed claims, by claim id. */
  notes = $state<Record<string, string>>({});
  error = $state<CommandError | null>(null);
  notice = $state<string | null>(null);

  #run<T>(call: Promise<CommandResult<T>>): Promise<T | null> {
    return settle(call, (error) => (this.error = error));
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

  async loadLeases(): Promise<void> {
    const [leases, people] = await Promise.all([this.#run(commands.teamLeases()), this.#run(commands.teamAdjudicators())]);
    if (leases) this.leases = leases;
    if (people) this.adjudicators = people;
  }

  /** Returns a held claim to the queue, or gives it to `to`. */
  async reassign(lease: HeldClaim, to: string | null): Promise<void> {
    this.error = null;
    await this.#run(commands.reassignLease(lease.claim_id, to));
    // The command answers nothing on success: the error is what tells.
    if (this.error) return;
    this.notice = to ? `${lease.claim_number} reassigned to ${to}.` : `${lease.claim_number} released to the queue.`;
    await this.loadLeases();
  }

  async loadRouted(): Promise<void> {
    const routed = await this.#run(commands.routedClaims());
    if (routed) this.routed = routed;
  }

  /** Approves a routed claim for payment or returns it to review, with the note written for it. */
  async decideRouted(claim: RoutedClaim, approve: boolean): Promise<void> {
    this.error = null;
    const note = (this.notes[claim.claim_id] ?? "").trim();
    if (!note) {
      this.error = { code: "invalid_input", message: "Write a note: it goes on the claim with your decision." };
      return;
    }
    const done = await this.#run(commands.decideRouted(claim.claim_id, approve, note));
    if (done === null) return;
    delete this.notes[claim.claim_id];
    this.notice = approve ? `${claim.claim_number} approved for payment.` : `${claim.claim_number} returned for review.`;
    await this.loadRouted();
  }
}
