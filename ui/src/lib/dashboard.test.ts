import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { TeamBoard } from "./dashboard.svelte";
import type { OutcomePoint } from "./bindings";
import {
  agingLabel,
  denialRate,
  dueWords,
  outcomeSeries,
  pendRate,
  priorityName,
  prioritySeries,
  rateSeries,
  refreshEvery,
  stepLabel,
} from "./dashboard";

const point = (approved: number, partially_approved: number, denied: number, pended: number): OutcomePoint => ({
  from: "2026-03-10T10:00:00Z",
  to: "2026-03-10T11:00:00Z",
  outcomes: { approved, partially_approved, denied, pended },
});

describe("team dashboard figures", () => {
  it("rates: denials over decisions, pends over the claims worked", () => {
    // The span's totals come summed from the app's side (core dashboard::total_outcomes).
    const o = { approved: 7, partially_approved: 1, denied: 2, pended: 3 };
    expect(denialRate(o)).toBe(20);
    expect(pendRate(o)).toBe(23.1);
    expect(denialRate(point(0, 0, 0, 4).outcomes)).toBeNull();
    expect(pendRate(point(0, 0, 0, 0).outcomes)).toBeNull();
    expect(rateSeries([point(0, 0, 0, 0), point(1, 0, 1, 2)]).map((s) => s.values)).toEqual([
      [0, 50],
      [0, 50],
    ]);
  });

  it("series follow the priorities, pended apart and dashed", () => {
    const series = prioritySeries([
      { at: "2026-03-10T10:00:00Z", counts: { urgent: 1, high: 2, normal: 3, low: 4, pended: 5 } },
      { at: "2026-03-10T11:00:00Z", counts: { urgent: 0, high: 2, normal: 9, low: 4, pended: 6 } },
    ]);
    expect(series.map((s) => s.name)).toEqual(["Urgent", "High", "Normal", "Low", "Pended"]);
    expect(series[0].values).toEqual([1, 0]);
    expect(series[4]).toMatchObject({ dashed: true, values: [5, 6] });
    const perStep = outcomeSeries([point(6, 1, 2, 0), point(1, 0, 0, 3)], (p) => p.outcomes);
    expect(perStep.map((s) => [s.name, s.values])).toEqual([
      ["Approved", [6, 1]],
      ["Partly approved", [1, 0]],
      ["Denied", [2, 0]],
      ["Pended", [0, 3]],
    ]);
    expect([1, 2, 3, 4, 9].map(priorityName)).toEqual(["Urgent", "High", "Normal", "Low", "9"]);
  });

  it("words for bands, steps and due dates", () => {
    expect(agingLabel({ from_days: 8, to_days: 14, counts: { urgent: 0, high: 0, normal: 0, low: 0, pended: 0 } })).toBe(
      "8–14",
    );
    expect(agingLabel({ from_days: 61, to_days: null, counts: { urgent: 0, high: 0, normal: 0, low: 0, pended: 0 } })).toBe(
      "61+",
    );
    expect(stepLabel("2026-03-10T15:00:00Z", "day", "UTC")).toBe("15:00");
    expect(stepLabel("2026-03-10T15:00:00Z", "month", "UTC")).toBe("10 Mar");
    expect(dueWords(-1)).toBe("1 day late");
    expect(dueWords(-12)).toBe("12 days late");
    expect(dueWords(0)).toBe("due today");
    expect(dueWords(3)).toBe("due in 3 days");
    expect([refreshEvery("day"), refreshEvery("week"), refreshEvery("month")]).toEqual([15_000, 30_000, 60_000]);
  });
});

describe("live refresh", () => {
  afterEach(() => {
    clearMocks();
    vi.useRealTimers();
  });

  it("reads again on its own while started, keeps the last figures on a failure, and stops", async () => {
    vi.useFakeTimers();
    let calls = 0;
    let fail = false;
    mockIPC((cmd, args) => {
      expect(cmd).toBe("team_dashboard");
      calls += 1;
      if (fail) throw { code: "server_unreachable", message: "Central is unreachable." };
      const span = (args as { span: string }).span;
      return { as_of: `t${calls}`, span, depth: [], aging: [], outcomes: [], adjudicators: [], prompt_pay: null };
    });
    const board = new TeamBoard(1000);
    board.start();
    await vi.waitFor(() => expect(board.board?.as_of).toBe("t1"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(board.board?.as_of).toBe("t2");
    fail = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(board.error?.code).toBe("server_unreachable");
    expect(board.board?.as_of).toBe("t2");
    fail = false;
    board.choose("week");
    await vi.waitFor(() => expect(board.board?.span).toBe("week"));
    expect(board.error).toBeNull();
    board.stop();
    const seen = calls;
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(seen);
  });
});
