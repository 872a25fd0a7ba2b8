import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { IntakeBatch_Serialize as IntakeBatch } from "./bindings";
import { STALLED_MS, anyLoading, batchState, categoryWords, mergeFirstPage, progress, segmentParts, sizeWords } from "./intake";
import { IntakeRoom } from "./intake.svelte";

const NOW = Date.parse("2026-12-08T10:00:00Z");

function batch(over: Partial<IntakeBatch> = {}): IntakeBatch {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    file_name: "in.837",
    senders: ["CLEARHOUSE01"],
    received_at: "2026-12-08T09:59:00Z",
    received_by: "intake",
    status: "complete",
    problem: null,
    file_bytes: 1000,
    bytes_read: 1000,
    sets_received: 2,
    sets_accepted: 2,
    claims_accepted: 3,
    claims_rejected: 1,
    amount_accepted: "180.25",
    duplicates: 0,
    completed_at: "2026-12-08T09:59:30Z",
    updated_at: "2026-12-08T09:59:30Z",
    ...over,
  };
}

describe("intake batches", () => {
  it("a file being read is loading with its fraction read, and interrupted once it stops moving", () => {
    const reading = batch({ status: "receiving", bytes_read: 250, updated_at: new Date(NOW - 5_000).toISOString() });
    expect(batchState(reading, NOW)).toBe("loading");
    expect(progress(reading)).toBe(0.25);
    expect(anyLoading([batch(), reading], NOW)).toBe(true);
    const stopped = { ...reading, updated_at: new Date(NOW - STALLED_MS - 1).toISOString() };
    expect(batchState(stopped, NOW)).toBe("interrupted");
    expect(anyLoading([batch(), stopped], NOW)).toBe(false);
    // Never past the end, nor a division by an empty file.
    expect(progress({ ...reading, bytes_read: 2000 })).toBe(1);
    expect(progress({ ...reading, file_bytes: 0, bytes_read: 0 })).toBe(0);
    expect(progress(batch())).toBe(1);
  });

  it("names what became of a file", () => {
    expect(batchState(batch(), NOW)).toBe("complete");
    expect(batchState(batch({ status: "rejected", sets_received: 0 }), NOW)).toBe("unreadable");
    // Read to its end, but the 999 rejected every set (or a TA1 the interchange).
    expect(batchState(batch({ sets_accepted: 0, claims_accepted: 0 }), NOW)).toBe("rejected");
    expect(batchState(batch({ sets_received: 0, sets_accepted: 0 }), NOW)).toBe("rejected");
    expect(batchState(batch({ sets_accepted: 1 }), NOW)).toBe("partial");
    expect(batchState(batch({ duplicates: 1, sets_received: 0, claims_accepted: 0 }), NOW)).toBe("duplicate");
    // A file with one new and one resent interchange is complete.
    expect(batchState(batch({ duplicates: 1 }), NOW)).toBe("complete");
  });

  it("sizes, segments and status categories read as words", () => {
    expect(sizeWords(512)).toBe("512 B");
    expect(sizeWords(34_512_000)).toBe("34.5 MB");
    expect(sizeWords(1_500)).toBe("1.5 kB");
    expect(segmentParts("STC*A7:164:IL*20250310*U~")).toEqual({ id: "STC", rest: "*A7:164:IL*20250310*U~" });
    expect(segmentParts("IEA~")).toEqual({ id: "IEA~", rest: "" });
    expect(categoryWords("A7")).toBe("rejected: invalid information");
    expect(categoryWords("A3")).toBe("returned as unprocessable");
    expect(categoryWords("ZZ")).toBe("ZZ");
  });

  it("reading the first page again keeps the older pages shown, none twice", () => {
    const at = (m: number, id: number) =>
      batch({ id: `00000000-0000-4000-8000-00000000000${id}`, received_at: `2026-12-08T09:${String(m).padStart(2, "0")}:00Z` });
    const shown = [at(50, 5), at(40, 4), at(30, 3), at(20, 2)];
    const fresh = [at(55, 6), at(50, 5)];
    expect(mergeFirstPage(fresh, shown, false).map((b) => b.id.slice(-1))).toEqual(["6", "5", "4", "3", "2"]);
    expect(mergeFirstPage(fresh, shown, true).map((b) => b.id.slice(-1))).toEqual(["6", "5"]);
  });
});

describe("the intake room", () => {
  afterEach(() => {
    clearMocks();
    vi.useRealTimers();
  });

  it("reads every second while a file loads, then slows down; answers come a page at a time", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    let reads = 0;
    let read = 0;
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      if (cmd === "intake_batches") {
        reads += 1;
        read = Math.min(1000, read + 400);
        const b =
          read < 1000
            ? batch({ status: "receiving", bytes_read: read, completed_at: null, updated_at: new Date(Date.now()).toISOString() })
            : batch();
        return { batches: [b], next: null };
      }
      if (cmd === "intake_batch") return { batch: batch(), interchanges: [], sets: [], rejected: [], rejected_total: 0, answers: [] };
      if (cmd === "intake_answer") {
        asked.push(a);
        const from = a.from as number;
        const all = Array.from({ length: 3 }, (_, i) => `S${i}*x~`);
        return { id: a.answerId, kind: "999", control_number: 7, segments: all.slice(from, from + 2), from, total_segments: 3 };
      }
      throw new Error(`unexpected ${cmd}`);
    });
    const room = new IntakeRoom(1000, 15_000);
    room.start();
    await vi.waitFor(() => expect(room.batches[0]?.bytes_read).toBe(400));
    expect(progress(room.batches[0])).toBe(0.4);
    await vi.advanceTimersByTimeAsync(1000);
    expect(room.batches[0].bytes_read).toBe(800);
    await vi.advanceTimersByTimeAsync(1000);
    expect(room.batches[0].status).toBe("complete");
    const after = reads;
    // Nothing loading: the next read waits for the slow pace.
    await vi.advanceTimersByTimeAsync(5000);
    expect(reads).toBe(after);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(reads).toBe(after + 1);

    await room.open(batch().id);
    expect(room.detail?.batch.file_name).toBe("in.837");
    const ref = { id: "00000000-0000-4000-8000-0000000000aa", kind: "999", control_number: 7, interchange: 1, bytes: 30, created_at: "" };
    await room.read(ref);
    expect(room.answer?.segments).toEqual(["S0*x~", "S1*x~"]);
    await room.moreSegments();
    expect(room.answer?.segments).toEqual(["S0*x~", "S1*x~", "S2*x~"]);
    await room.moreSegments();
    expect(asked.map((a) => (a as { from: number }).from)).toEqual([0, 2]);
    room.stop();
    const stopped = reads;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reads).toBe(stopped);
  });

  it("keeps what it shows when central cannot be read, and says so", async () => {
    let fail = false;
    mockIPC((cmd) => {
      if (cmd !== "intake_batches") throw new Error(cmd);
      if (fail) throw { code: "server_unreachable", message: "Central is unreachable." };
      return { batches: [batch()], next: null };
    });
    const room = new IntakeRoom();
    await room.refresh();
    fail = true;
    await room.refresh();
    expect(room.error?.code).toBe("server_unreachable");
    expect(room.batches).toHaveLength(1);
  });
});
