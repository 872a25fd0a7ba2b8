import { describe, expect, it } from "vitest";
import type { Carc, LineResult } from "./bindings";
import { emptyForm, groupsFor, matchCarcs, paidTotal, problems } from "./decision";

const carcs: Carc[] = [
  { code: "45", description: "Charge exceeds fee schedule", group_codes: ["CO"], is_denial: false },
  { code: "50", description: "Not medically necessary", group_codes: ["CO"], is_denial: true },
  { code: "96", description: "Non-covered charge", group_codes: ["CO", "PR"], is_denial: true },
  { code: "5", description: "Procedure code inconsistent with place of service", group_codes: ["CO"], is_denial: true },
];

const line = (n: number, paid: string): LineResult => ({
  line_number: n,
  billed: "100.00",
  allowed: "90.00",
  deductible: "0",
  copay: "0",
  coinsurance: "0",
  paid,
  member_responsibility: "0",
  adjustments: [],
  rarc: [],
});

describe("matchCarcs", () => {
  it("finds by code prefix or words, denials only when asked", () => {
    expect(matchCarcs("5", carcs, true).map((c) => c.code)).toEqual(["5", "50"]);
    expect(matchCarcs("medically", carcs, true).map((c) => c.code)).toEqual(["50"]);
    expect(matchCarcs("", carcs, true).map((c) => c.code)).toEqual(["50", "96", "5"]);
    expect(matchCarcs("fee", carcs, true)).toEqual([]);
  });

  it("offers only the groups a reason goes with", () => {
    expect(groupsFor("96", carcs, ["CO", "PR", "OA"])).toEqual(["CO", "PR"]);
    expect(groupsFor("", carcs, ["CO", "PR", "OA"])).toEqual(["CO", "PR", "OA"]);
  });
});

describe("problems", () => {
  it("blocks a denial without codes or explanation", () => {
    const form = { ...emptyForm(), kind: "deny" as const };
    expect(problems(form, carcs, [])).toEqual([
      "Choose a reason code (CARC).",
      "Choose a group code.",
      "Write an explanation.",
    ]);
    expect(problems({ ...form, carc: "50", groupCode: "PR", explanation: "x" }, carcs, [])).toEqual([
      "Reason 50 is not reported with group PR.",
    ]);
    expect(problems({ ...form, carc: "50", groupCode: "CO", explanation: "Not necessary." }, carcs, [])).toEqual([]);
  });

  it("needs a real reduction for a partial approval", () => {
    const lines = [line(1, "90.00"), line(2, "40.00")];
    const form = { ...emptyForm(), kind: "partial" as const, explanation: "Units over the documented time." };
    expect(problems(form, carcs, lines)).toContain("Pay less on at least one line.");
    const reduced = { ...form, paid: { 1: "60.00" }, reductionCarc: "45" };
    expect(problems(reduced, carcs, lines)).toEqual([]);
    expect(paidTotal(reduced, lines)).toBe(10000n);
    expect(problems({ ...reduced, paid: { 1: "95.00" } }, carcs, lines)).toContain("Line 1: pay between 0 and 90.00.");
    expect(problems({ ...reduced, paid: { 1: "abc" } }, carcs, lines)).toContain("Line 1: enter an amount like 120.00.");
  });

  it("needs a reason to pend", () => {
    expect(problems({ ...emptyForm(), kind: "pend" }, carcs, [])).toEqual(["Choose why the claim waits."]);
    expect(problems({ ...emptyForm(), kind: "pend", pendReason: "records" }, carcs, [])).toEqual([]);
    expect(problems({ ...emptyForm(), kind: "approve" }, carcs, [])).toEqual([]);
  });
});
