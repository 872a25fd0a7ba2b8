/** What the window counts as the person being there. */
export const ACTIVITY_EVENTS = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"] as const;

/**
 * How often activity is reported to the app's side, which locks by itself
 * after the timeout and twice this (the same rule as `AutoLock::report_every`).
 */
export function reportEvery(afterMs: number): number {
  return Math.min(afterMs / 4, 30_000);
}

export interface IdleOptions {
  afterMs: number;
  /** The timeout passed without activity. */
  onIdle: () => void;
  /** Activity, at most every reportEvery(afterMs). */
  report: () => void;
  now?: () => number;
  target?: Pick<EventTarget, "addEventListener" | "removeEventListener">;
}

/** Watches keyboard, mouse and touch; calls onIdle once after afterMs without any. */
export class IdleWatch {
  #last = 0;
  #reported = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #now: () => number;
  readonly #activity = () => this.activity();

  constructor(private readonly opts: IdleOptions) {
    this.#now = opts.now ?? Date.now;
  }

  start(): void {
    this.stop();
    this.#last = this.#reported = this.#now();
    const target = this.opts.target ?? window;
    for (const e of ACTIVITY_EVENTS) target.addEventListener(e, this.#activity, { passive: true, capture: true });
    this.#arm(this.opts.afterMs);
  }

  stop(): void {
    const target = this.opts.target ?? (typeof window === "undefined" ? null : window);
    for (const e of ACTIVITY_EVENTS) target?.removeEventListener(e, this.#activity, { capture: true });
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  activity(): void {
    const now = this.#now();
    this.#last = now;
    if (now - this.#reported >= reportEvery(this.opts.afterMs)) {
      this.#reported = now;
      this.opts.report();
    }
  }

  // One timer to the deadline, re-armed on expiry if activity moved it:
  // no per-event timer churn while the mouse moves.
  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      const idle = this.#now() - this.#last;
      if (idle >= this.opts.afterMs) {
        this.stop();
        this.opts.onIdle();
      } else {
        this.#arm(this.opts.afterMs - idle);
      }
    }, ms);
  }
}

/** "15 minutes", "1 minute", "8 seconds": the timeout as the lock screen says it. */
export function timeoutWords(ms: number): string {
  const [n, unit] = ms >= 60_000 ? [Math.round(ms / 60_000), "minute"] : [Math.round(ms / 1000), "second"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}
