import { commands, type ClaimView_Serialize as ClaimView, type CommandError } from "./bindings";
import { asCommandError } from "./errors";
import { QueueStore } from "./queue.svelte";

/**
 * The adjudicator's desk: the queue, the claim open in the workspace, and
 * the commands between them (get next, open, release).
 */
export class Desk {
  queue = new QueueStore();
  claim = $state<ClaimView | null>(null);
  busy = $state(false);
  error = $state<CommandError | null>(null);

  /** Leases the next claim and opens it. */
  async next(): Promise<void> {
    await this.#run(() => commands.getNext());
  }

  /** Opens a claim from the queue. */
  async open(id: string): Promise<void> {
    await this.#run(() => commands.openClaim(id));
  }

  /** Gives the open claim back to the queue and returns to it. */
  async release(): Promise<void> {
    const claim = this.claim;
    if (!claim || this.busy) return;
    this.busy = true;
    this.error = null;
    try {
      const result = await commands.releaseClaim(claim.claim.id);
      if (result.status === "error") {
        this.error = result.error;
        return;
      }
      this.back();
    } catch (thrown) {
      this.error = asCommandError(thrown);
    } finally {
      this.busy = false;
    }
  }

  /** Back to the queue, re-read (the cache may have moved on). */
  back(): void {
    this.claim = null;
    void this.queue.reload();
  }

  async #run(call: () => Promise<{ status: "ok"; data: ClaimView } | { status: "error"; error: CommandError }>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    try {
      const result = await call();
      if (result.status === "error") this.error = result.error;
      else this.claim = result.data;
    } catch (thrown) {
      this.error = asCommandError(thrown);
    } finally {
      this.busy = false;
    }
  }
}
