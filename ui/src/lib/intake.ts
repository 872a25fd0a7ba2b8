import type { IntakeBatch_Serialize as IntakeBatch } from "./bindings";

/** Batches per page of the list. */
export const BATCH_PAGE = 50;
/** Segments of an answer per page of the viewer. */
export const SEGMENT_PAGE = 400;
/**
 * A file being read saves its progress after every transaction set; one
 * that has not moved for this long was cut off (its run stopped), and
 * resumes when the same file is imported again.
 */
export const STALLED_MS = 2 * 60_000;

export type BatchState = "loading" | "interrupted" | "complete" | "partial" | "rejected" | "duplicate" | "unreadable";

/** What the batch is now, for its badge. */
export function batchState(b: IntakeBatch, now: number = Date.now()): BatchState {
  if (b.status === "receiving") return now - Date.parse(b.updated_at) > STALLED_MS ? "interrupted" : "loading";
  if (b.status === "rejected") return "unreadable";
  if (b.sets_received === 0) {
    // Every interchange in it had been received before: nothing was created.
    return b.duplicates > 0 ? "duplicate" : "rejected";
  }
  if (b.sets_accepted === 0) return "rejected";
  return b.sets_accepted < b.sets_received ? "partial" : "complete";
}

export const STATE_WORDS: Record<BatchState, string> = {
  loading: "Loading",
  interrupted: "Interrupted",
  complete: "Complete",
  partial: "Sets rejected",
  rejected: "Rejected",
  duplicate: "Duplicate",
  unreadable: "Not readable",
};

/** How far the file has been read, 0 to 1. */
export function progress(b: IntakeBatch): number {
  if (b.status !== "receiving") return 1;
  const size = b.file_bytes ?? 0;
  if (size <= 0) return 0;
  return Math.min(1, Math.max(0, (b.bytes_read ?? 0) / size));
}

/** Whether the list should be read again soon: a file is still loading. */
export function anyLoading(batches: readonly IntakeBatch[], now: number = Date.now()): boolean {
  return batches.some((b) => batchState(b, now) === "loading");
}

/** `35123456` → `"35.1 MB"` (byte counts come as f64, which may be null). */
export function sizeWords(bytes: number | null): string {
  if (bytes === null) return "—";
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toLocaleString("en-US", { maximumFractionDigits: value < 10 ? 2 : 1 })} ${units[unit]}`;
}

/** What each answer is, for its button and the viewer's title. */
export const ANSWER_WORDS: Record<string, string> = {
  TA1: "TA1 interchange acknowledgment",
  "999": "999 implementation acknowledgment",
  "277CA": "277CA claim acknowledgment",
};

/** A segment split for display: its id and the rest, separator kept. */
export function segmentParts(segment: string): { id: string; rest: string } {
  const at = segment.search(/[*]/);
  return at < 0 ? { id: segment, rest: "" } : { id: segment.slice(0, at), rest: segment.slice(at) };
}

/** The 277CA's STC01 category in words (X12 code list 507). */
export function categoryWords(category: string): string {
  switch (category) {
    case "A2":
      return "accepted";
    case "A3":
      return "returned as unprocessable";
    case "A6":
      return "rejected: missing information";
    case "A7":
      return "rejected: invalid information";
    case "A8":
      return "rejected: relational field in error";
    default:
      return category;
  }
}

/**
 * Older batches kept after the first page is read again: the new first
 * page, then those already shown that come after it (no one twice).
 */
export function mergeFirstPage(fresh: readonly IntakeBatch[], shown: readonly IntakeBatch[], freshIsAll: boolean): IntakeBatch[] {
  if (freshIsAll || fresh.length === 0) return [...fresh];
  const ids = new Set(fresh.map((b) => b.id));
  const last = fresh[fresh.length - 1];
  const lastAt = Date.parse(last.received_at);
  const older = shown.filter((b) => {
    const at = Date.parse(b.received_at);
    return !ids.has(b.id) && (at < lastAt || (at === lastAt && b.id < last.id));
  });
  return [...fresh, ...older];
}
