import { describe, expect, it } from "vitest";
import type { RegistryComparison } from "./bindings";
import { draftFromComparison, daysUntil, importPercent, relativeDays, rooms, todayUtc } from "./credentialing";

describe("rooms", () => {
  it("gives a credentialing specialist only the credentialing room: no claims, no member PHI", () => {
    expect(rooms(["credentialing"])).toEqual(["credentialing"]);
  });
  it("gives adjudicators the claims desk only", () => {
    expect(rooms(["adjudicator"])).toEqual(["desk"]);
  });
  it("starts a supervisor in supervision, with the claims desk beside it", () => {
    expect(rooms(["adjudicator", "supervisor"])).toEqual(["supervisor", "desk"]);
  });
  it("gives an administrator every room, the desk first", () => {
    expect(rooms(["admin"])).toEqual(["desk", "credentialing", "supervisor"]);
  });
  it("gives a login in no staff group nothing", () => {
    expect(rooms([])).toEqual([]);
  });
});

describe("days", () => {
  it("counts whole days either way", () => {
    expect(daysUntil("2026-12-12", "2026-12-02")).toBe(10);
    expect(daysUntil("2026-11-29", "2026-12-02")).toBe(-3);
    expect(daysUntil("2027-03-01", "2027-02-28")).toBe(1);
  });
  it("says them as a person would", () => {
    expect(relativeDays("2026-12-02", "2026-12-02")).toBe("today");
    expect(relativeDays("2026-12-03", "2026-12-02")).toBe("in 1 day");
    expect(relativeDays("2026-11-20", "2026-12-02")).toBe("12 days ago");
  });
  it("takes today in UTC, as the work lists do", () => {
    expect(todayUtc(new Date("2026-12-02T23:30:00-05:00"))).toBe("2026-12-03");
  });
});

const base: RegistryComparison = {
  npi: "1720377294",
  record: {
    npi: "1720377294",
    kind: "individual",
    name: "HIZA, ELISE AILEEN",
    first_name: "ELISE",
    last_name: "HIZA",
    organization_name: null,
    credential: "M.D.",
    status: "A",
    enumeration_date: "2011-04-05",
    last_updated: "2018-05-08",
    addresses: [],
    taxonomies: [],
  },
  rows: [
    { field: "Name", ours: "Hiza, Elise", registry: "HIZA, ELISE", agreement: "same" },
    { field: "ZIP", ours: "28805", registry: "28801", agreement: "differs" },
    { field: "License (NC)", ours: null, registry: "2017-01132", agreement: "only_registry" },
  ],
  mismatches: 2,
  checked_at: "2026-12-02T10:00:00Z",
};

describe("a verification drafted from the registry", () => {
  it("names each field that differs, for the person to check", () => {
    const draft = draftFromComparison(base);
    expect(draft.source).toBe("NPPES NPI Registry");
    expect(draft.result).toBe("discrepancy");
    expect(draft.notes).toContain("ZIP: ours 28805, NPPES 28801");
    expect(draft.notes).toContain("License (NC): ours none, NPPES 2017-01132");
    expect(draft.notes).not.toContain("Name");
  });
  it("is verified with no note when every field agrees", () => {
    const same = { ...base, rows: base.rows.slice(0, 1), mismatches: 0 };
    expect(draftFromComparison(same)).toEqual({ source: "NPPES NPI Registry", result: "verified", notes: "" });
  });
  it("is not found when the registry has no such NPI", () => {
    const none = { ...base, record: null, rows: [], mismatches: 0 };
    expect(draftFromComparison(none).result).toBe("not_found");
  });
});

describe("the import bar", () => {
  it("moves through the stages without going back", () => {
    const steps = [
      importPercent(null),
      importPercent({ stage: "reading", done: 500, total: 1000 }),
      importPercent({ stage: "reading", done: 1000, total: 1000 }),
      importPercent({ stage: "storing", done: 0, total: 1000 }),
      importPercent({ stage: "screening", done: 500, total: 1000 }),
      importPercent({ stage: "done", done: 1000, total: 1000 }),
    ];
    expect(steps).toEqual([0, 15, 30, 30, 75, 100]);
  });
  it("copes with an empty stage", () => {
    expect(importPercent({ stage: "storing", done: 0, total: 0 })).toBe(50);
  });
});
