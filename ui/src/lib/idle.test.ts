import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IdleWatch, reportEvery, timeoutWords } from "./idle";

describe("inactivity", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("locks once after the timeout without activity, each activity moving the deadline", () => {
    const target = new EventTarget();
    let idle = 0;
    let reports = 0;
    const watch = new IdleWatch({
      afterMs: 60_000,
      onIdle: () => (idle += 1),
      report: () => (reports += 1),
      now: () => Date.now(),
      target,
    });
    watch.start();
    vi.advanceTimersByTime(59_000);
    expect(idle).toBe(0);
    target.dispatchEvent(new Event("keydown"));
    expect(reports).toBe(1);
    // Moves within the report interval (15 s here) are not each reported.
    target.dispatchEvent(new Event("pointermove"));
    vi.advanceTimersByTime(10_000);
    target.dispatchEvent(new Event("pointermove"));
    expect(reports).toBe(1);
    vi.advanceTimersByTime(5_000);
    target.dispatchEvent(new Event("wheel"));
    expect(reports).toBe(2);
    vi.advanceTimersByTime(59_000);
    expect(idle).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(idle).toBe(1);
    // Stopped after locking: later input neither reports nor locks again.
    target.dispatchEvent(new Event("keydown"));
    vi.advanceTimersByTime(120_000);
    expect([idle, reports]).toEqual([1, 2]);
  });

  it("reports at most every quarter of the timeout, 30 s at the most", () => {
    expect(reportEvery(15 * 60_000)).toBe(30_000);
    expect(reportEvery(8_000)).toBe(2_000);
  });

  it("says the timeout in minutes, or seconds below one", () => {
    expect([timeoutWords(15 * 60_000), timeoutWords(60_000), timeoutWords(8_000)]).toEqual([
      "15 minutes",
      "1 minute",
      "8 seconds",
    ]);
  });

  it("stop() ends the watch without locking", () => {
    const target = new EventTarget();
    const onIdle = vi.fn();
    const watch = new IdleWatch({ afterMs: 1000, onIdle, report: () => undefined, target });
    watch.start();
    watch.stop();
    vi.advanceTimersByTime(5000);
    expect(onIdle).not.toHaveBeenCalled();
  });
});
