import { describe, expect, it } from "vitest";
import { formatLatency, latencyGrade, shortServerVersion, utcTime } from "./format";
import { isTransient, remedy } from "./errors";

describe("format", () => {
  it("shows central's instants to the second, UTC", () => {
    expect(utcTime("2026-12-08T01:36:19.123456Z")).toBe("2026-12-08 01:36:19");
    expect(utcTime(null)).toBe("—");
  });

  it("formats latency for people", () => {
    expect(formatLatency(0.4271)).toBe("0.43 ms");
    expect(formatLatency(42.4)).toBe("42 ms");
    expect(formatLatency(1530)).toBe("1.5 s");
    expect(formatLatency(null)).toBe("–");
    expect(latencyGrade(3)).toBe("good");
    expect(latencyGrade(120)).toBe("fair");
    expect(latencyGrade(900)).toBe("poor");
  });

  it("shortens the server version", () => {
    expect(shortServerVersion("15.18 (Debian 15.18-0+deb12u1)")).toBe("PostgreSQL 15.18");
  });
});

describe("errors", () => {
  it("branches on codes, not messages", () => {
    expect(isTransient({ code: "server_unreachable", message: "" })).toBe(true);
    expect(isTransient({ code: "auth_failed", message: "server unreachable" })).toBe(false);
    expect(remedy({ code: "tls_required", message: "" }, "/etc/x.toml")).toContain("/etc/x.toml");
    expect(remedy({ code: "not_logged_in", message: "" })).toBeNull();
  });
});
