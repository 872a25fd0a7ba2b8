import { describe, expect, it } from "vitest";
import { cents, exceeds, fromCents, money, percent, sum } from "./money";

describe("money", () => {
  it("parses and prints exact cents", () => {
    expect(cents("12.3")).toBe(1230n);
    expect(cents("0.07")).toBe(7n);
    expect(cents("-5")).toBe(-500n);
    expect(fromCents(1230n)).toBe("12.30");
    expect(fromCents(-7n)).toBe("-0.07");
    expect(() => cents("abc")).toThrow();
  });

  it("sums without float error", () => {
    // 0.1 + 0.2 is 0.30000000000000004 in floats.
    expect(sum(["0.10", "0.20"])).toBe("0.30");
    expect(sum(["1711.01", "-1500.00", "-211.01"])).toBe("0.00");
    expect(sum([])).toBe("0.00");
  });

  it("formats for people", () => {
    expect(money("1234.5")).toBe("$1,234.50");
    expect(money("12345678901234.99")).toBe("$12,345,678,901,234.99");
    expect(money("-5.00")).toBe("-$5.00");
    expect(money("n/a")).toBe("n/a");
  });

  it("compares and proportions", () => {
    expect(exceeds("5000.01", "5000.00")).toBe(true);
    expect(exceeds("5000.00", "5000.00")).toBe(false);
    expect(percent("250.00", "1000.00")).toBe(25);
    expect(percent("1.00", "0.00")).toBe(100);
  });
});
