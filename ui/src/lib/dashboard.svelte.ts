import { commands, type CommandError, type DashboardSpan, type TeamDashboard_Serialize as TeamDashboard } from "./bindings";
import { settle } from "./errors";
import { refreshEvery } from "./dashboard";

/**
 * The team dashboard's data, read from central now and again while it is
 * on screen (refreshEvery the span). A failed read keeps the last figures
 * and says so.
 */
export class TeamBoard {
  span = $state<DashboardSpan>("day");
  board = $state<TeamDashboard | null>(null);
  error = $state<CommandError | null>(null);
  loading = $state(false);
  #timer: ReturnType<typeof setInterval> | null = null;
  #reading: Promise<void> | null = null;

  /** `everyMs` fixes the pace whatever the span (tests). */
  constructor(private readonly everyMs?: number) {}

  /** Reads now; a read already under way is joined, not doubled. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => (this.#reading = null));
    return this.#reading;
  }

  async #read(): Promise<void> {
    this.loading = true;
    const span = this.span;
    const board = await settle(commands.teamDashboard(span), (e) => (this.error = e));
    this.loading = false;
    // A span changed during the read is read again by choose().
    if (board && board.span === this.span) {
      this.board = board;
      this.error = null;
    }
  }

  choose(span: DashboardSpan): void {
    if (span === this.span) return;
    this.span = span;
    if (this.#timer !== null) this.#every();
    void this.refresh().then(() => (this.board?.span !== span ? this.refresh() : undefined));
  }

  /** Starts the live refresh; hidden windows are not read for. */
  start(): void {
    void this.refresh();
    this.#every();
  }

  #every(): void {
    this.stop();
    this.#timer = setInterval(() => {
      if (typeof document === "undefined" || !document.hidden) void this.refresh();
    }, this.everyMs ?? refreshEvery(this.span));
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
