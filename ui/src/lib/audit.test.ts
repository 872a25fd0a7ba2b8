import { describe, expect, it } from "vitest";
import { changes, chainWords, clientWords, dayAfter, emptyFilter, toFilter } from "./audit";

describe("the trail's filter", () => {
  it("takes the typed numbers as the ids they resolved to, and includes the whole 'to' day", () => {
    const form = { ...emptyFilter(), user: " pat ", role: "supervisor" as const, from: "2026-12-01", to: "2026-12-31", phiOnly: true };
    expect(toFilter(form, { member_id: "m", claim_id: null, provider_id: "p" })).toEqual({
      user: "pat",
      role: "supervisor",
      member_id: "m",
      claim_id: null,
      provider_id: "p",
      action: null,
      phi_only: true,
      from: "2026-12-01T00:00:00Z",
      to: "2027-01-01T00:00:00Z",
      client: null,
    });
  });
  it("steps over month and leap days", () => {
    expect(dayAfter("2028-02-28")).toBe("2028-02-29");
    expect(dayAfter("2026-02-28")).toBe("2026-03-01");
  });
});

describe("an event's values", () => {
  it("sets each changed column's before beside its after", () => {
    expect(
      changes({ old_values: '{"status": "in_review", "version": 2}', new_values: '{"status": "approved", "version": 3, "paid": "12.00"}' }),
    ).toEqual([
      { column: "paid", before: null, after: "12.00" },
      { column: "status", before: "in_review", after: "approved" },
      { column: "version", before: "2", after: "3" },
    ]);
  });
  it("has nothing to show for an access", () => {
    expect(changes({ old_values: null, new_values: null })).toEqual([]);
  });
});

describe("words", () => {
  const check = (first_break: unknown) =>
    ({ report: { rows_checked: 5_000_000, first_break }, checked_at: "2026-12-02T00:00:00Z", millis: 8400 }) as never;
  it("says an intact chain with its size and time", () => {
    expect(chainWords(check(null))).toBe("Intact: 5,000,000 events verified in 8.4 s.");
  });
  it("names the first broken event", () => {
    expect(chainWords(check({ kind: "content_changed", lane: 3, seq: 1234 }))).toBe(
      "Broken: event 1234 was altered after it was written (lane 3).",
    );
    expect(chainWords(check({ kind: "gap", lane: 1, expected: 7, found: 8, seq: 99 }))).toContain("missing before event 99");
    expect(chainWords(check({ kind: "head_mismatch", lane: 2, head_seq: 10, last_seq: 9 }))).toContain("removed from the end of lane 2");
  });
  it("names the client", () => {
    expect(clientWords('{"client": "claimdesk 0.1.0", "client_addr": "10.0.0.5", "application_name": "claimdesk"}')).toBe(
      "claimdesk 0.1.0 · 10.0.0.5",
    );
    expect(clientWords("not json")).toBe("—");
  });
});
