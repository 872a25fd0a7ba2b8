import { describe, expect, it } from "vitest";
import { pagesFor, rowWindow, scrollToShow } from "./virtual";

describe("rowWindow", () => {
  it("renders only the visible rows and the overscan of 100,000", () => {
    const w = rowWindow(36_000, 720, 36, 100_000, 8);
    expect(w.start).toBe(992);
    expect(w.end).toBe(1029);
    expect(w.end - w.start).toBeLessThan(50);
    expect(w.top).toBe(992 * 36);
    expect(w.height).toBe(3_600_000);
  });

  it("clamps at both ends", () => {
    expect(rowWindow(0, 720, 36, 100_000, 8).start).toBe(0);
    const last = rowWindow(10_000_000, 720, 36, 100, 8);
    expect(last.end).toBe(100);
    expect(last.start).toBeLessThan(100);
    expect(rowWindow(0, 720, 36, 0)).toEqual({ start: 0, end: 0, top: 0, height: 0 });
  });
});

describe("pagesFor", () => {
  it("lists the pages a window spans", () => {
    expect(pagesFor(95, 130, 100)).toEqual([0, 1]);
    expect(pagesFor(0, 100, 100)).toEqual([0]);
    expect(pagesFor(5, 5, 100)).toEqual([]);
  });
});

describe("scrollToShow", () => {
  it("scrolls only when the row is outside the viewport", () => {
    expect(scrollToShow(10, 0, 720, 36)).toBeNull();
    expect(scrollToShow(25, 0, 720, 36)).toBe(26 * 36 - 720);
    expect(scrollToShow(3, 360, 720, 36)).toBe(108);
  });
});
