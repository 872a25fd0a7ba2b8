import {
  commands,
  type ClaimView_Serialize as ClaimView,
  type CodeLists,
  type CommandError,
  type ConflictView_Serialize as ConflictView,
  type DecisionInput_Deserialize as DecisionInput,
} from "./bindings";
import { PENDING_UPLOADER, toBase64 } from "./documents";
import { draftFrom, emptyForm, hasDraft, pays, takesRemarks, type DecisionForm } from "./decision";
import { asCommandError } from "./errors";
import { QueueStore } from "./queue.svelte";

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

/** The panel's fields as the command takes them. */
export function toInput(form: DecisionForm): DecisionInput {
  const text = form.explanation.trim() || null;
  return {
    kind: form.kind ?? "approve",
    explanation: text,
    denial_group_code: form.kind === "deny" ? form.groupCode : null,
    denial_carc: form.kind === "deny" ? form.carc : null,
    pend_reason: form.kind === "pend" || form.kind === "request_info" ? form.pendReason : null,
    reductions:
      form.kind === "partial"
        ? Object.entries(form.paid)
            .filter(([, v]) => v !== undefined && v.trim() !== "")
            .map(([line, paid]) => ({
              line_number: Number(line),
              paid: paid.trim(),
              group_code: form.reductionGroup,
              carc: form.reductionCarc,
            }))
        : [],
    rarc: takesRemarks(form.kind) ? [...form.rarc] : [],
    override_reason: pays(form.kind) && form.overrideReason.trim() ? form.overrideReason.trim() : null,
  };
}

/** Who is at the desk and how often their lease is renewed. */
export interface DeskOptions {
  /** The login, as central names lease holders. */
  user: string | null;
  /** Seconds between lease renewals while a held claim is open. */
  renewSecs: number;
  /** A supervisor may lift pends. */
  supervisor?: boolean;
}

/** Whether the window is on screen: renewals stop while it is not. */
function windowActive(): boolean {
  return typeof document === "undefined" || document.visibilityState === "visible";
}

/**
 * The adjudicator's desk: the queue, the claim open in the workspace, the
 * decision being written (kept per claim until it is sent, so nothing typed
 * is lost), and refused decisions waiting for the person.
 *
 * One rule for leases: a person holds at most the claim open in front of
 * them. N takes the next claim; a claim opened from the list is read-only
 * until they take it (T). Leaving a held claim (Esc, N, another claim)
 * gives it back, and when a decision has been started there the desk asks
 * first. While a held claim is open and the window is on screen, the lease
 * is renewed; if it is lost anyway, the workspace says so at once and the
 * draft stays.
 */
export class Desk {
  queue = new QueueStore();
  claim = $state<ClaimView | null>(null);
  /** The held claim's lease ended (expired, or a supervisor moved it). */
  leaseLost = $state(false);
  /** A move away from a held claim with a draft, waiting for the person's word. */
  leaving = $state<{ claimNumber: string; go: () => Promise<void> } | null>(null);
  #options: DeskOptions;
  #renewal: ReturnType<typeof setInterval> | null = null;

  constructor(options: DeskOptions = { user: null, renewSecs: 60 }) {
    this.#options = options;
  }

  /** Whether this person holds the open claim's lease. */
  held(): boolean {
    const lease = this.claim?.lease;
    return !!lease && lease.holder === this.#options.user && !this.leaseLost;
  }

  get supervisor(): boolean {
    return this.#options.supervisor ?? false;
  }

  /** Stops renewing (the desk is leaving the screen, or the window locked). */
  stop(): void {
    if (this.#renewal !== null) clearInterval(this.#renewal);
    this.#renewal = null;
  }

  /** Renews the open claim's lease once; says so when it is gone. */
  async renew(): Promise<void> {
    const claim = this.claim;
    if (!claim?.lease || !this.held() || !windowActive()) return;
    const result = await commands.renewLease(claim.claim.id).catch(() => null);
    if (this.claim !== claim || !result) return;
    if (result.status === "ok") claim.lease.expires_at = result.data;
    else if (result.error.code === "lease_lost" || result.error.code === "not_found") this.leaseLost = true;
    // Offline or busy: the lease has minutes left; the next beat tries again.
  }

  #startRenewing(): void {
    this.stop();
    if (!this.held()) return;
    this.#renewal = setInterval(() => void this.renew(), this.#options.renewSecs * 1000);
  }

  /**
   * Moves on from the open claim with `then` (the next claim, another one,
   * or the queue), then gives the held claim back: in that order, so N
   * never hands the same claim straight back. With a decision started on
   * it, the person is asked first.
   */
  async #leave(then: () => Promise<void>): Promise<void> {
    const claim = this.claim;
    if (!claim || !this.held()) {
      await then();
      return;
    }
    const go = async (): Promise<void> => {
      this.leaving = null;
      await then();
      // Still on it (the next claim could not be had): keep holding it.
      if (this.claim?.claim.id === claim.claim.id) return;
      await commands.releaseClaim(claim.claim.id).catch(() => null);
      delete this.drafts[claim.claim.id];
    };
    if (hasDraft(this.drafts[claim.claim.id])) this.leaving = { claimNumber: claim.claim.claim_number, go };
    else await go();
  }

  /** The person keeps working on the claim instead of leaving it. */
  stay(): void {
    this.leaving = null;
  }
  busy = $state(false);
  error = $state<CommandError | null>(null);
  /** Said after a decision is queued. */
  notice = $state<string | null>(null);
  lists = $state<CodeLists | null>(null);
  /** Decision drafts by claim id. */
  drafts = $state<Record<string, DecisionForm>>({});
  conflicts = $state<ConflictView[]>([]);

  /** The draft for the open claim, created on first use. */
  form(): DecisionForm {
    const id = this.claim?.claim.id;
    if (!id) return emptyForm();
    this.drafts[id] ??= emptyForm();
    return this.drafts[id];
  }

  async loadLists(): Promise<void> {
    const result = await commands.codeLists().catch(() => null);
    if (result?.status === "ok") this.lists = result.data;
  }

  /** Leases the next claim and opens it (giving back the one held). */
  async next(): Promise<void> {
    await this.#leave(() => this.#open(() => commands.getNext()));
  }

  /** Opens a claim from the queue, read-only until the person takes it. */
  async open(id: string): Promise<void> {
    if (this.claim?.claim.id === id) return;
    await this.#leave(() => this.#open(() => commands.openClaim(id)));
  }

  /** Takes the open claim (leases it), keeping what was typed. */
  async take(): Promise<void> {
    const claim = this.claim;
    if (!claim || this.busy) return;
    await this.#open(() => commands.takeClaim(claim.claim.id));
  }

  /** A supervisor returns the open pended claim to the queue, saying why. */
  async liftPend(note: string): Promise<boolean> {
    const claim = this.claim;
    if (!claim || !note.trim()) return false;
    const done = await this.#call(() => commands.liftPend(claim.claim.id, note.trim()));
    if (!done) return false;
    this.notice = `${claim.claim.claim_number} is back in the queue.`;
    await this.#open(() => commands.openClaim(claim.claim.id));
    return true;
  }

  /** Queues the decision on the open claim, then returns to the queue. */
  async decide(): Promise<void> {
    const claim = this.claim;
    if (!claim || this.busy) return;
    const form = this.form();
    const result = await this.#call(() => commands.decide(claim.claim.id, claim.claim.version, toInput(form)));
    if (result) {
      delete this.drafts[claim.claim.id];
      this.notice = `${claim.claim.claim_number}: ${form.kind?.replace("_", " ")} queued.`;
      this.back();
    }
  }

  /** Adds a note to the open claim (queued; shown at once as waiting to sync). */
  async addNote(body: string): Promise<boolean> {
    const claim = this.claim;
    const text = body.trim();
    if (!claim || !text) return false;
    const done = await this.#call(() => commands.addNote(claim.claim.id, text));
    if (!done) return false;
    // A timestamp string, not reactive state.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    claim.notes.push({ author: "you (waiting to sync)", body: text, at: new Date().toISOString() });
    return true;
  }

  /**
   * Attaches a file to the open claim: checked and queued by the app, then
   * listed at once as waiting to be sent.
   */
  async attach(documentType: string, file: File): Promise<boolean> {
    const claim = this.claim;
    if (!claim) return false;
    const content = toBase64(new Uint8Array(await file.arrayBuffer()));
    const done = await this.#call(() => commands.attachDocument(claim.claim.id, documentType, file.name, content));
    if (!done) return false;
    const a = done.data;
    claim.documents.push({
      id: a.id,
      document_type: documentType,
      file_name: a.file_name,
      mime_type: a.mime_type,
      size_bytes: a.size_bytes,
      page_count: a.page_count,
      ocr_text: null,
      uploaded_by: PENDING_UPLOADER,
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      uploaded_at: new Date().toISOString(),
    });
    this.notice = `${a.file_name} is attached; it reaches central with the next sync.`;
    return true;
  }

  /** Saves a copy of a document the person is viewing; says where it went. */
  async exportDocument(id: string, fileName: string): Promise<void> {
    const claim = this.claim;
    if (!claim) return;
    const done = await this.#call(() => commands.exportDocument(claim.claim.id, id, fileName));
    if (done) this.notice = `Saved a copy to ${done.data}. The export is recorded in the audit trail.`;
  }

  /** Gives the open claim back to the queue and returns to it. */
  async release(): Promise<void> {
    const claim = this.claim;
    if (!claim || this.busy) return;
    const done = await this.#call(() => commands.releaseClaim(claim.claim.id));
    if (done) this.#close();
  }

  /** Back to the queue (Esc), giving back a held claim by the lease rule. */
  async leave(): Promise<void> {
    await this.#leave(async () => this.#close());
  }

  /** Back to the queue after a decision (which ended the lease on central). */
  back(): void {
    this.#close();
  }

  #close(): void {
    this.stop();
    this.claim = null;
    this.leaseLost = false;
    void this.queue.reload();
  }

  /** Re-reads refused entries (the status bar says how many). */
  async loadConflicts(): Promise<void> {
    const result = await commands.conflicts().catch(() => null);
    if (result?.status === "ok") this.conflicts = result.data;
  }

  /**
   * The person reopens a refused decision's claim to redo it: their draft
   * comes back filled in, and the refused entry leaves the outbox.
   */
  async redo(conflict: ConflictView): Promise<void> {
    const id = conflict.claim_id;
    if (!id) return;
    await this.open(id);
    // Not opened: the refused entry stays, so nothing is lost.
    if (this.claim?.claim.id !== id) return;
    this.drafts[id] = draftFrom(conflict.ours, this.claim.pricing?.adjudication.lines ?? []);
    await this.dismiss(conflict);
  }

  /** The person lets a refused entry go. */
  async dismiss(conflict: ConflictView): Promise<void> {
    await commands.dismissConflict(conflict.key).catch(() => null);
    this.conflicts = this.conflicts.filter((c) => c.key !== conflict.key);
  }

  async #open(call: () => Promise<Result<ClaimView>>): Promise<void> {
    const opened = await this.#call(call);
    if (opened) {
      // The lists come with the first sync; a claim opened before it ended
      // asks again, so the pickers are filled.
      if (!this.lists?.carcs.length) void this.loadLists();
      this.claim = opened.data;
      this.leaseLost = false;
      this.form();
      this.notice = null;
      this.#startRenewing();
    }
  }

  /** Runs a command; its data (wrapped, so a command returning nothing still succeeds) or null. */
  async #call<T>(call: () => Promise<Result<T>>): Promise<{ data: T } | null> {
    if (this.busy) return null;
    this.busy = true;
    this.error = null;
    try {
      const result = await call();
      if (result.status === "error") {
        this.error = result.error;
        return null;
      }
      return { data: result.data };
    } catch (thrown) {
      this.error = asCommandError(thrown);
      return null;
    } finally {
      this.busy = false;
    }
  }
}
