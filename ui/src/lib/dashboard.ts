import type {
  AgingBucket,
  DashboardSpan,
  DepthPoint,
  OutcomePoint,
  Outcomes,
  PriorityCounts,
} from "./bindings";
import { percent } from "./chart";

/**
 * How often the dashboard reads central again while it is on screen: the
 * longer spans move by the hour or the day, and read more history.
 */
export function refreshEvery(span: DashboardSpan): number {
  return span === "day" ? 15_000 : span === "week" ? 30_000 : 60_000;
}

/** The spans offered, with the step each is counted in. */
export const SPANS: { span: DashboardSpan; label: string; step: string }[] = [
  { span: "day", label: "24 hours", step: "hour" },
  { span: "week", label: "7 days", step: "6 hours" },
  { span: "month", label: "30 days", step: "day" },
];

/** Priorities in the order the charts stack them, with their colours. */
export const PRIORITIES: { key: keyof PriorityCounts; name: string; colour: string; dashed?: boolean }[] = [
  { key: "urgent", name: "Urgent", colour: "var(--danger)" },
  { key: "high", name: "High", colour: "var(--warn)" },
  { key: "normal", name: "Normal", colour: "var(--navy)" },
  { key: "low", name: "Low", colour: "var(--ink-3)" },
  { key: "pended", name: "Pended", colour: "var(--ink-2)", dashed: true },
];

export const OUTCOMES: { key: keyof Outcomes; name: string; colour: string }[] = [
  { key: "approved", name: "Approved", colour: "var(--ok)" },
  { key: "partially_approved", name: "Partly approved", colour: "var(--navy)" },
  { key: "denied", name: "Denied", colour: "var(--danger)" },
  { key: "pended", name: "Pended", colour: "var(--ink-3)" },
];

/** "Urgent" for rank 1 … "Low" for 4. */
export function priorityName(rank: number): string {
  return PRIORITIES[rank - 1]?.name ?? String(rank);
}

export function waiting(c: PriorityCounts): number {
  return c.urgent + c.high + c.normal + c.low;
}

export function decided(o: Outcomes): number {
  return o.approved + o.partially_approved + o.denied;
}

/** Share of decisions that were denials, in percent to one decimal; null without decisions. */
export function denialRate(o: Outcomes): number | null {
  return percent(o.denied, decided(o));
}

/** Share of the claims worked (decided or pended) that were pended. */
export function pendRate(o: Outcomes): number | null {
  return percent(o.pended, decided(o) + o.pended);
}

/** An x-axis label for a moment: the hour within a day, the date beyond. */
export function stepLabel(at: string, span: DashboardSpan, timeZone?: string): string {
  const d = new Date(at);
  const opts: Intl.DateTimeFormatOptions =
    span === "day"
      ? { hour: "2-digit", minute: "2-digit", hour12: false, timeZone }
      : span === "week"
        ? { weekday: "short", hour: "2-digit", hour12: false, timeZone }
        : { month: "short", day: "numeric", timeZone };
  return new Intl.DateTimeFormat("en-GB", opts).format(d);
}

/** A series per priority (pended dashed, for lines) over moments or age bands. */
export function prioritySeries(rows: readonly (DepthPoint | AgingBucket)[]) {
  return PRIORITIES.map((p) => ({
    name: p.name,
    colour: p.colour,
    dashed: p.dashed,
    values: rows.map((r) => r.counts[p.key]),
  }));
}

/** A series per outcome over steps or people. */
export function outcomeSeries<T>(rows: readonly T[], of: (row: T) => Outcomes) {
  return OUTCOMES.map((o) => ({ name: o.name, colour: o.colour, values: rows.map((r) => of(r)[o.key]) }));
}

export function agingLabel(b: AgingBucket): string {
  return b.to_days === null ? `${b.from_days}+` : `${b.from_days}–${b.to_days}`;
}

/** Rates per step; a step with nothing decided has no rate, drawn as 0. */
export function rateSeries(points: readonly OutcomePoint[]) {
  return [
    { name: "Denial rate", colour: "var(--danger)", values: points.map((p) => denialRate(p.outcomes) ?? 0) },
    { name: "Pend rate", colour: "var(--ink-2)", dashed: true, values: points.map((p) => pendRate(p.outcomes) ?? 0) },
  ];
}

/** "3 days late", "due today", "due in 2 days". */
export function dueWords(daysLeft: number): string {
  if (daysLeft < 0) return `${-daysLeft} day${daysLeft === -1 ? "" : "s"} late`;
  if (daysLeft === 0) return "due today";
  return `due in ${daysLeft} day${daysLeft === 1 ? "" : "s"}`;
}
