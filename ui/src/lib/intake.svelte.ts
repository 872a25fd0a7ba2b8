import {
  commands,
  type Answer,
  type AnswerRef_Serialize as AnswerRef,
  type BatchCursor,
  type CommandError,
  type IntakeBatch_Serialize as IntakeBatch,
  type IntakeBatchDetail_Serialize as IntakeBatchDetail,
} from "./bindings";
import { settle, type CommandResult } from "./errors";
import { BATCH_PAGE, SEGMENT_PAGE, anyLoading, batchState, mergeFirstPage } from "./intake";

/** How often the list is read while a file loads, and otherwise. */
export const LOADING_EVERY_MS = 1_000;
export const IDLE_EVERY_MS = 15_000;

/**
 * The supervisor's intake room: the files received, newest first, read
 * again every second while one is loading (for its progress bar) and every
 * 15 s otherwise; a batch opened with its sets, rejections and answers; an
 * answer read a page of segments at a time (each read is a PHI view on
 * central).
 */
export class IntakeRoom {
  batches = $state<IntakeBatch[]>([]);
  next = $state<BatchCursor | null>(null);
  detail = $state<IntakeBatchDetail | null>(null);
  answer = $state<Answer | null>(null);
  answerRef = $state<AnswerRef | null>(null);
  loading = $state(false);
  error = $state<CommandError | null>(null);
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  #reading: Promise<void> | null = null;

  /** `loadingMs`/`idleMs` fix the pace (tests). */
  constructor(
    private readonly loadingMs = LOADING_EVERY_MS,
    private readonly idleMs = IDLE_EVERY_MS,
  ) {}

  #run<T>(call: Promise<CommandResult<T>>): Promise<T | null> {
    return settle(call, (e) => (this.error = e));
  }

  /** Reads the first page again (and the open batch); a read under way is joined. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => (this.#reading = null));
    return this.#reading;
  }

  async #read(): Promise<void> {
    this.loading = true;
    try {
      const page = await this.#run(commands.intakeBatches(null, BATCH_PAGE));
      if (!page) return;
      this.error = null;
      const firstOnly = this.batches.length <= BATCH_PAGE;
      this.batches = mergeFirstPage(page.batches, this.batches, firstOnly);
      if (firstOnly) this.next = page.next;
      const open = this.detail;
      if (open && open.batch.status === "receiving") {
        const fresh = await this.#run(commands.intakeBatch(open.batch.id));
        if (fresh && this.detail?.batch.id === fresh.batch.id) this.detail = fresh;
      }
    } finally {
      this.loading = false;
    }
  }

  /** Older batches, after the last shown. */
  async more(): Promise<void> {
    if (!this.next) return;
    const page = await this.#run(commands.intakeBatches(this.next, BATCH_PAGE));
    if (!page) return;
    const shown = this.batches;
    this.batches = [...shown, ...page.batches.filter((b) => !shown.some((s) => s.id === b.id))];
    this.next = page.next;
  }

  async open(batchId: string): Promise<void> {
    const detail = await this.#run(commands.intakeBatch(batchId));
    if (!detail) return;
    this.detail = detail;
    this.answer = null;
    this.answerRef = null;
  }

  close(): void {
    this.detail = null;
    this.answer = null;
    this.answerRef = null;
  }

  /** The answer's first page of segments. */
  async read(ref: AnswerRef): Promise<void> {
    const answer = await this.#run(commands.intakeAnswer(ref.id, 0, SEGMENT_PAGE));
    if (!answer) return;
    this.answerRef = ref;
    this.answer = answer;
  }

  /** The answer's next page, appended. */
  async moreSegments(): Promise<void> {
    const shown = this.answer;
    if (!shown) return;
    const from = shown.from + shown.segments.length;
    if (from >= shown.total_segments) return;
    const page = await this.#run(commands.intakeAnswer(shown.id, from, SEGMENT_PAGE));
    if (!page || this.answer?.id !== shown.id) return;
    this.answer = { ...page, from: shown.from, segments: [...shown.segments, ...page.segments] };
  }

  /** Starts reading by itself: fast while a file loads. */
  start(): void {
    this.#running = true;
    void this.refresh().then(() => this.#schedule());
  }

  #schedule(): void {
    if (!this.#running) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const loading = anyLoading(this.batches) || (this.detail !== null && batchState(this.detail.batch) === "loading");
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        if (typeof document !== "undefined" && document.hidden) return this.#schedule();
        void this.refresh().then(() => this.#schedule());
      },
      loading ? this.loadingMs : this.idleMs,
    );
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
