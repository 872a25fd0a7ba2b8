/**
 * The arithmetic behind the dashboard's SVG charts (components/charts/),
 * kept free of the DOM so it can be tested on its own.
 */

/** Rough width of a 12px character, to size margins and space labels without measuring text. */
export const CHAR = 7;

/** A 1px line on a half pixel stays sharp instead of blurring across two rows. */
export function crisp(v: number): number {
  return Math.round(v) + 0.5;
}

/** A segment of a stacked bar, in data units from the baseline. */
export interface Segment {
  y0: number;
  y1: number;
}

/** Numbers as a coordinate string: two decimals is well below a pixel and keeps paths short. */
function coord(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Drops the binary noise of repeated float steps (3 × 0.1 = 0.30000000000000004). */
function tidy(n: number): number {
  return Number.parseFloat(n.toPrecision(12));
}

/**
 * Zero-based axis ticks at 1, 2, 2.5 or 5 × 10^n, using at most `count`
 * steps, the last tick at or above `max`. With `integer` (counts of claims,
 * people) the step is never below 1 and never 2.5.
 */
export function niceTicks(max: number, count = 4, integer = true): number[] {
  // An empty or all-zero chart still needs a scale to draw its baseline against.
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const steps = Math.max(1, Math.floor(count));
  const raw = max / steps;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = 10 * magnitude;
  for (const factor of [1, 2, 2.5, 5]) {
    // 2.5 × 1 would put fractions on a count axis; 25, 250… are fine.
    if (integer && factor === 2.5 && magnitude < 10) continue;
    // The tolerance absorbs float error such as 0.3 / 3 = 0.09999999999999999.
    if (factor * magnitude >= raw * (1 - 1e-9)) {
      step = factor * magnitude;
      break;
    }
  }
  if (integer) step = Math.max(1, step);
  const n = Math.max(1, Math.ceil(max / step - 1e-9));
  return Array.from({ length: n + 1 }, (_, i) => tidy(i * step));
}

/**
 * The x of point `i` of `n` across `width`. A lone point sits in the middle,
 * so its label and guide line are not pinned against the y axis.
 */
export function xAt(i: number, n: number, width: number): number {
  return n > 1 ? (i * width) / (n - 1) : width / 2;
}

/** The y of `value` on a 0..top scale drawn `height` tall (SVG y grows downwards). */
export function yAt(value: number, top: number, height: number): number {
  // A zero top would divide by zero; every value then sits on the baseline.
  const scale = top > 0 ? top : 1;
  return height - (value / scale) * height;
}

/**
 * An SVG path "M x,y L x,y …" through the values, evenly spaced across
 * `width` (see xAt for a single value), 0..top mapped onto height..0.
 * A missing (non-finite) value breaks the line rather than dropping to zero.
 */
export function linePath(values: number[], width: number, height: number, top: number): string {
  const parts: string[] = [];
  let penDown = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      penDown = false;
      return;
    }
    parts.push(`${penDown ? "L" : "M"}${coord(xAt(i, values.length, width))},${coord(yAt(v, top, height))}`);
    penDown = true;
  });
  return parts.join(" ");
}

/**
 * Stacks `series[s][i]` into segments indexed `[i][s]` (category first, the
 * order a bar is drawn in). A series shorter than the longest counts as 0.
 */
export function stack(series: number[][]): Segment[][] {
  const categories = Math.max(0, ...series.map((s) => s.length));
  return Array.from({ length: categories }, (_, i) => {
    let base = 0;
    return series.map((s) => {
      const v = s[i];
      // Stacked bars show counts; a negative or missing value would overlap the segment below.
      const size = v !== undefined && Number.isFinite(v) && v > 0 ? v : 0;
      const segment = { y0: base, y1: base + size };
      base += size;
      return segment;
    });
  });
}

/** `part` as a percentage of `whole` to one decimal; null when there is no whole to divide by. */
export function percent(part: number, whole: number): number | null {
  if (whole === 0 || !Number.isFinite(whole) || !Number.isFinite(part)) return null;
  const p = Math.round((part / whole) * 1000) / 10;
  // Avoids showing "-0" for a tiny negative share.
  return p === 0 ? 0 : p;
}

/**
 * Which of `n` points get an x label: the first, the last and evenly spaced
 * ones between, at most `maxLabels` and no two fewer than `minGap` points
 * apart (the caller turns its label width into points), so none overlap.
 */
export function labelIndices(n: number, maxLabels: number, minGap = 1): number[] {
  if (n <= 0) return [];
  if (n === 1) return [0];
  const gaps = Math.max(1, Math.min(Math.floor(maxLabels) - 1, Math.floor((n - 1) / Math.max(1, Math.ceil(minGap)))));
  // Spread evenly: each step is at least ceil(minGap), and rounding never brings two closer than that.
  return Array.from({ length: gaps + 1 }, (_, k) => Math.round((k * (n - 1)) / gaps));
}

/** The index of the point nearest to `x` across `width`, or -1 when there are none. */
export function nearestIndex(x: number, n: number, width: number): number {
  if (n <= 0) return -1;
  if (n === 1 || width <= 0) return 0;
  return Math.min(n - 1, Math.max(0, Math.round((x / width) * (n - 1))));
}

/** Shortens `text` to `maxChars` with an ellipsis, for labels in a fixed space (the full text goes in a tooltip). */
export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, Math.max(1, Math.floor(maxChars) - 1)).trimEnd()}…`;
}
