import { commands, type CommandError, type QueueRow_Serialize as QueueRow, type QueueView } from "./bindings";
import { asCommandError } from "./errors";
import { pagesFor } from "./virtual";


/** Rows fetched per request; a screen shows about 20. */
export const PAGE_SIZE = 100;

/** The saved views, in tab order, with the key that selects each. */
export const VIEWS: ReadonlyArray<{ view: QueueView; label: string; key: string }> = [
  { view: "all", label: "All open", key: "1" },
  { view: "urgent", label: "Urgent", key: "2" },
  { view: "due_soon", label: "Due in 3 days", key: "3" },
  { view: "overdue", label: "Overdue", key: "4" },
  { view: "pended", label: "Pended", key: "5" },
  { view: "flagged", label: "Flagged", key: "6" },
];

/**
 * The queue table's data: pages of the cached queue fetched as the window
 * scrolls over them, kept until the view changes or the cache moves on.
 */
export class QueueStore {
  view = $state<QueueView>("all");
  total = $state(0);
  /** Bumped when pages arrive, so rows re-read. */
  version = $state(0);
  error = $state<CommandError | null>(null);
  loaded = $state(false);
  /** The row the keyboard is on, and the scroll offset, kept while a claim is open. */
  active = 0;
  scrollTop = 0;

  // Deliberately not reactive: `version` announces arrivals, so the effect
  // that calls `ensure` does not re-run on its own bookkeeping.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #pages = new Map<number, QueueRow[]>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #inflight = new Set<number>();
  #generation = 0;

  /** The row at `index`, if its page has arrived. */
  row(index: number): QueueRow | undefined {
    void this.version;
    return this.#pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** Makes sure rows `start`..`end` are (being) fetched. */
  ensure(start: number, end: number): void {
    for (const page of pagesFor(start, end, PAGE_SIZE)) {
      if (!this.#pages.has(page) && !this.#inflight.has(page)) void this.#load(page);
    }
  }

  /** Switches to another saved view, from the top. */
  async select(view: QueueView): Promise<void> {
    this.view = view;
    await this.reload();
  }

  /** Drops every page and fetches the first again (after sync or a decision). */
  async reload(): Promise<void> {
    this.#generation++;
    this.#pages.clear();
    this.#inflight.clear();
    await this.#load(0);
  }

  async #load(page: number): Promise<void> {
    const generation = this.#generation;
    this.#inflight.add(page);
    try {
      const result = await commands.queuePage(this.view, page * PAGE_SIZE, PAGE_SIZE);
      if (generation !== this.#generation) return;
      if (result.status === "error") {
        this.error = result.error;
        return;
      }
      this.error = null;
      this.total = result.data.total;
      this.#pages.set(page, result.data.rows);
      this.loaded = true;
      this.version++;
    } catch (thrown) {
      if (generation === this.#generation) this.error = asCommandError(thrown);
    } finally {
      this.#inflight.delete(page);
    }
  }
}

/** The due column's words: "in 5 d", "today", "3 d late". */
export function dueText(days: number): string {
  if (days === 0) return "today";
  if (days > 0) return `in ${days} d`;
  return `${-days} d late`;
}
