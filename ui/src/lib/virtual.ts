/** The rows a virtualized list renders: the visible ones plus `overscan` on each side. */
export interface RowWindow {
  /** First row rendered (inclusive). */
  start: number;
  /** Last row rendered (exclusive). */
  end: number;
  /** Height of the spacer above the first rendered row, in pixels. */
  top: number;
  /** Height of the whole list, in pixels. */
  height: number;
}

/**
 * Which rows of a `total`-row list of `rowHeight`-pixel rows to render when
 * the viewport of `viewport` pixels is scrolled to `scrollTop`. Only this
 * window is in the DOM, so 100,000 rows cost what 40 do.
 */
export function rowWindow(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  total: number,
  overscan = 8,
): RowWindow {
  const height = total * rowHeight;
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0, top: 0, height: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(0, viewport) / rowHeight) + 1;
  const start = Math.max(0, Math.min(first, total - 1) - overscan);
  const end = Math.min(total, first + visible + overscan);
  return { start, end, top: start * rowHeight, height };
}

/** Pages (of `pageSize` rows) that cover rows `start`..`end`. */
export function pagesFor(start: number, end: number, pageSize: number): number[] {
  if (end <= start) return [];
  const pages: number[] = [];
  for (let p = Math.floor(start / pageSize); p <= Math.floor((end - 1) / pageSize); p++) pages.push(p);
  return pages;
}

/**
 * The scroll position that brings row `index` into view, or null when it
 * is in view already (keyboard moves scroll only as far as needed).
 */
export function scrollToShow(
  index: number,
  scrollTop: number,
  viewport: number,
  rowHeight: number,
): number | null {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + viewport) return top + rowHeight - viewport;
  return null;
}
