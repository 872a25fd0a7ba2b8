import { describe, expect, it } from "vitest";
import { nextChoice, resolve, storedTheme } from "./theme";

describe("theme", () => {
  it("follows the system unless chosen", () => {
    expect(resolve("system", true)).toBe("dark");
    expect(resolve("system", false)).toBe("light");
    expect(resolve("light", true)).toBe("light");
    expect(resolve("dark", false)).toBe("dark");
  });

  it("cycles and reads back what was stored", () => {
    expect(nextChoice("system")).toBe("light");
    expect(nextChoice("light")).toBe("dark");
    expect(nextChoice("dark")).toBe("system");
    expect(storedTheme({ getItem: () => "dark" })).toBe("dark");
    expect(storedTheme({ getItem: () => "purple" })).toBe("system");
    expect(storedTheme({ getItem: () => null })).toBe("system");
  });
});
