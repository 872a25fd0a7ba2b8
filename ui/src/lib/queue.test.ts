import { describe, expect, it } from "vitest";
import { dueText, money } from "./queue.svelte";

describe("money", () => {
  it("formats decimal strings without floats", () => {
    expect(money("1234.5")).toBe("$1,234.50");
    expect(money("0.07")).toBe("$0.07");
    expect(money("1000000")).toBe("$1,000,000.00");
    expect(money("12345678901234.99")).toBe("$12,345,678,901,234.99");
    expect(money("-5.00")).toBe("-$5.00");
    expect(money("n/a")).toBe("n/a");
  });
});

describe("dueText", () => {
  it("reads as a person says it", () => {
    expect(dueText(0)).toBe("today");
    expect(dueText(5)).toBe("in 5 d");
    expect(dueText(-3)).toBe("3 d late");
  });
});
