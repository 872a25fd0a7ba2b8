import { describe, expect, it } from "vitest";
import { maskDate } from "./mask";

describe("maskDate", () => {
  it("keeps only the year", () => {
    expect(maskDate("1984-03-07")).toBe("••/••/1984");
    expect(maskDate("garbage")).toBe("••/••/••••");
  });
});
