import type {
  AgingBucket,
  DashboardSpan,
  DepthPoint,
  OutcomePoint,
  Outcomes,
  PriorityCounts,
} from "./bindings";

/**
 * How often the dashboard reads central again while it is on screen: the
 * longer spans move by the hour or the day, and read more history.
 */
export function refreshEvery(span: DashboardSpan): number {
  return span === "day" ? 15_000 : span === "week" ? 30_000 : 60_000;
}

export const SPANS: { span: DashboardSpan; label: string }[] = [
  { span: "day", label: "24 hours" },
  { span: "week", label: "7 days" },
  { span: "month", label: "30 days" },
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

export function waiting(c: PriorityCounts): number {
  return c.urgent + c.high + c.normal + c.low;
}

export function decided(o: Outcomes): number {
  return o.approved + o.partially_approved + o.denied;
}

export function totalOutcomes(points: readonly OutcomePoint[]): Outcomes {
  const t: Outcomes = { approved: 0, partially_approved: 0, denied: 0, pended: 0 };
  for (const p of points) {
    t.approved += p.outcomes.approved;
    t.partially_approved += p.outcomes.partially_approved;
    t.denied += p.outcomes.denied;
    t.pended += p.outcomes.pended;
  }
  return t;
}

/** Share of decisions that were denials, in percent to one decimal; null without decisions. */
export function denialRate(o: Outcomes): number | null {
  const d = decided(o);
  return d === 0 ? null : Math.round((o.denied / d) * 1000) / 10;
}

/** Share of the claims worked (decided or pended) that were pended. */
export function pendRate(o: Outcomes): number | null {
  const worked = decided(o) + o.pended;
  return worked === 0 ? null : Math.round((o.pended / worked) * 1000) / 10;
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

export function depthSeries(points: readonly DepthPoint[]) {
  return PRIORITIES.map((p) => ({
    name: p.name,
    colour: p.colour,
    dashed: p.dashed,
    values: points.map((pt) => pt.counts[p.key]),
  }));
}

export function agingLabel(b: AgingBucket): string {
  return b.to_days === null ? `${b.from_days}+` : `${b.from_days}–${b.to_days}`;
}

export function agingSeries(buckets: readonly AgingBucket[]) {
  return PRIORITIES.map((p) => ({ name: p.name, colour: p.colour, values: buckets.map((b) => b.counts[p.key]) }));
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
