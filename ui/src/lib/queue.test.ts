import { describe, expect, it } from "vitest";
import { dueText } from "./queue.svelte";

describe("dueText", () => {
  it("reads as a person says it", () => {
    expect(dueText(0)).toBe("today");
    expect(dueText(5)).toBe("in 5 d");
    expect(dueText(-3)).toBe("3 d late");
  });
});
