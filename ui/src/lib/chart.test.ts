import { describe, expect, it } from "vitest";
import { labelIndices, linePath, nearestIndex, niceTicks, percent, stack, truncate, xAt, yAt } from "./chart";

describe("niceTicks", () => {
  it("counts in whole steps for small integer data", () => {
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(1)).toEqual([0, 1]);
    expect(niceTicks(0.4)).toEqual([0, 1]);
    expect(niceTicks(10)).toEqual([0, 5, 10]);
    expect(niceTicks(12)).toEqual([0, 5, 10, 15]);
  });

  it("gives a usable scale when there is nothing to show", () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(-5)).toEqual([0, 1]);
    expect(niceTicks(Number.NaN)).toEqual([0, 1]);
    expect(niceTicks(Number.POSITIVE_INFINITY)).toEqual([0, 1]);
  });

  it("uses 2.5 steps only where they stay whole, or when fractions are allowed", () => {
    expect(niceTicks(1000)).toEqual([0, 250, 500, 750, 1000]);
    expect(niceTicks(1, 4, false)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(0.3, 3, false)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0.07, 4, false)).toEqual([0, 0.02, 0.04, 0.06, 0.08]);
  });

  it("handles large numbers", () => {
    expect(niceTicks(1_234_567)).toEqual([0, 500_000, 1_000_000, 1_500_000]);
    expect(niceTicks(9_999_999_999)).toEqual([0, 2.5e9, 5e9, 7.5e9, 1e10]);
  });

  it("always ends at or above max, within the step count", () => {
    for (const max of [1, 2, 3, 5, 9, 11, 17, 49, 99, 101, 333, 4321, 98765]) {
      for (const count of [2, 4, 5, 8]) {
        const ticks = niceTicks(max, count);
        expect(ticks[0]).toBe(0);
        expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(max);
        expect(ticks.length - 1).toBeLessThanOrEqual(count);
        expect(ticks.every(Number.isInteger)).toBe(true);
        const step = ticks[1] - ticks[0];
        expect(ticks.every((t, i) => t === ticks[0] + i * step)).toBe(true);
      }
    }
  });
});

describe("linePath", () => {
  it("spreads points evenly and flips y", () => {
    expect(linePath([0, 5, 10], 200, 100, 10)).toBe("M0,100 L100,50 L200,0");
  });

  it("returns nothing for no values", () => {
    expect(linePath([], 200, 100, 10)).toBe("");
  });

  it("puts a single value in the middle", () => {
    expect(linePath([4], 600, 100, 8)).toBe("M300,50");
    expect(xAt(0, 1, 600)).toBe(300);
  });

  it("keeps all zeros on the baseline, even with a zero top", () => {
    expect(linePath([0, 0], 100, 80, 0)).toBe("M0,80 L100,80");
    expect(yAt(0, 0, 80)).toBe(80);
  });

  it("breaks the line at missing values", () => {
    expect(linePath([1, Number.NaN, 1, 2], 30, 10, 2)).toBe("M0,5 M20,5 L30,0");
  });

  it("rounds coordinates and copes with large numbers", () => {
    expect(linePath([1_000_000, 3_000_000, 0], 100, 90, 3_000_000)).toBe("M0,60 L50,0 L100,90");
    expect(linePath([1, 2], 100, 100, 3)).toBe("M0,66.67 L100,33.33");
  });
});

describe("stack", () => {
  it("stacks series per category", () => {
    expect(
      stack([
        [1, 2],
        [3, 0],
        [2, 5],
      ]),
    ).toEqual([
      [
        { y0: 0, y1: 1 },
        { y0: 1, y1: 4 },
        { y0: 4, y1: 6 },
      ],
      [
        { y0: 0, y1: 2 },
        { y0: 2, y1: 2 },
        { y0: 2, y1: 7 },
      ],
    ]);
  });

  it("returns no categories for no series or empty series", () => {
    expect(stack([])).toEqual([]);
    expect(stack([[], []])).toEqual([]);
  });

  it("treats short series, negatives and NaN as zero", () => {
    expect(stack([[1, 1], [2], [-3, Number.NaN]])).toEqual([
      [
        { y0: 0, y1: 1 },
        { y0: 1, y1: 3 },
        { y0: 3, y1: 3 },
      ],
      [
        { y0: 0, y1: 1 },
        { y0: 1, y1: 1 },
        { y0: 1, y1: 1 },
      ],
    ]);
  });

  it("adds large numbers exactly", () => {
    const [bar] = stack([[4_000_000_000], [5_000_000_000]]);
    expect(bar[1]).toEqual({ y0: 4_000_000_000, y1: 9_000_000_000 });
  });
});

describe("percent", () => {
  it("rounds to one decimal", () => {
    expect(percent(1, 3)).toBe(33.3);
    expect(percent(2, 3)).toBe(66.7);
    expect(percent(5, 5)).toBe(100);
    expect(percent(0, 7)).toBe(0);
    expect(percent(1, 1_000_000)).toBe(0);
    expect(percent(123_456_789, 987_654_321)).toBe(12.5);
  });

  it("is null when there is no whole", () => {
    expect(percent(0, 0)).toBeNull();
    expect(percent(3, 0)).toBeNull();
    expect(percent(Number.NaN, 4)).toBeNull();
  });

  it("never returns negative zero", () => {
    expect(Object.is(percent(-1, 1_000_000), 0)).toBe(true);
  });
});

describe("labelIndices", () => {
  it("includes the first and last point", () => {
    expect(labelIndices(0, 6)).toEqual([]);
    expect(labelIndices(1, 6)).toEqual([0]);
    expect(labelIndices(2, 6)).toEqual([0, 1]);
    expect(labelIndices(5, 6)).toEqual([0, 1, 2, 3, 4]);
    expect(labelIndices(31, 6)).toEqual([0, 6, 12, 18, 24, 30]);
    expect(labelIndices(30, 6)).toEqual([0, 6, 12, 17, 23, 29]);
  });

  it("keeps labels at least minGap points apart", () => {
    expect(labelIndices(30, 6, 11)).toEqual([0, 15, 29]);
    expect(labelIndices(30, 6, 2.5)).toEqual([0, 6, 12, 17, 23, 29]);
    expect(labelIndices(30, 6, 7)).toEqual([0, 7, 15, 22, 29]);
    expect(labelIndices(1000, 6)).toEqual([0, 200, 400, 599, 799, 999]);
    for (let n = 2; n < 100; n++) {
      for (const max of [2, 3, 4, 6]) {
        for (const minGap of [1, 2.5, 4, 9]) {
          const picked = labelIndices(n, max, minGap);
          expect(picked.length).toBeLessThanOrEqual(max);
          expect(picked[0]).toBe(0);
          expect(picked[picked.length - 1]).toBe(n - 1);
          if (picked.length > 2) {
            for (let i = 1; i < picked.length; i++) expect(picked[i] - picked[i - 1]).toBeGreaterThanOrEqual(Math.ceil(minGap));
          }
        }
      }
    }
  });

  it("shows at least the two ends", () => {
    expect(labelIndices(10, 1)).toEqual([0, 9]);
    expect(labelIndices(10, 6, 50)).toEqual([0, 9]);
  });
});

describe("nearestIndex", () => {
  it("snaps to the closest point and clamps outside the plot", () => {
    expect(nearestIndex(0, 0, 100)).toBe(-1);
    expect(nearestIndex(80, 1, 100)).toBe(0);
    expect(nearestIndex(24, 5, 100)).toBe(1);
    expect(nearestIndex(26, 5, 100)).toBe(1);
    expect(nearestIndex(40, 5, 100)).toBe(2);
    expect(nearestIndex(-10, 5, 100)).toBe(0);
    expect(nearestIndex(150, 5, 100)).toBe(4);
  });
});

describe("truncate", () => {
  it("keeps short text and shortens long text to the limit", () => {
    expect(truncate("Alice", 8)).toBe("Alice");
    expect(truncate("Bartholomew Jones", 8)).toBe("Barthol…");
    expect(truncate("Ann Marie", 5)).toBe("Ann…");
    expect(truncate("Zoë", 0)).toBe("Z…");
    expect(truncate("", 3)).toBe("");
  });
});
