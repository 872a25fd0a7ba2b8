import { describe, expect, it } from "vitest";
import type { Carc, DecisionLine, Edit, LineResult, OurWork, Rarc } from "./bindings";
import { draftFrom, emptyForm, groupsFor, matchCarcs, matchRemarks, paidTotal, problems, reasonsOn } from "./decision";
import { toInput } from "./desk.svelte";

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

const rarcs: Rarc[] = [
  { code: "N381", description: "See the contract terms for this payment", carcs: ["45"] },
  { code: "M127", description: "Medical record for this service missing", carcs: ["16", "50"] },
  { code: "N130", description: "See the plan's benefit documents", carcs: ["96", "204"] },
];

describe("remark codes", () => {
  const priced = { ...line(1, "90.00"), adjustments: [{ group: "CO" as const, carc: "45", amount: "10.00" }] };

  it("offers only remarks that explain a reason on the decision", () => {
    const deny = { ...emptyForm(), kind: "deny" as const, carc: "50" };
    // A denial's reason replaces the engine's 45.
    expect(reasonsOn(deny, [priced])).toEqual(["50"]);
    expect(matchRemarks("", rarcs, reasonsOn(deny, [priced]), []).map((r) => r.code)).toEqual(["M127"]);
    const approve = { ...emptyForm(), kind: "approve" as const };
    expect(matchRemarks("", rarcs, reasonsOn(approve, [priced]), []).map((r) => r.code)).toEqual(["N381"]);
    const partial = { ...emptyForm(), kind: "partial" as const, reductionCarc: "96" };
    expect(reasonsOn(partial, [priced]).sort()).toEqual(["45", "96"]);
  });

  it("matches by code or words and leaves out what is chosen", () => {
    expect(matchRemarks("m1", rarcs, ["16"], []).map((r) => r.code)).toEqual(["M127"]);
    expect(matchRemarks("record missing", rarcs, ["16"], []).map((r) => r.code)).toEqual(["M127"]);
    expect(matchRemarks("", rarcs, ["16", "45"], ["M127"]).map((r) => r.code)).toEqual(["N381"]);
  });

  it("blocks a chosen remark once the reason it explained is gone", () => {
    const deny = { ...emptyForm(), kind: "deny" as const, carc: "50", groupCode: "CO", explanation: "x", rarc: ["M127"] };
    expect(problems(deny, carcs, [priced], rarcs)).toEqual([]);
    expect(problems({ ...deny, carc: "96" }, carcs, [priced], rarcs)).toEqual([
      "Remark M127 explains 16, 50, not a reason on this decision: remove it or change the reason.",
    ]);
  });
});

describe("draftFrom", () => {
  const sent = (n: number, paid: string, carc: string, rarc: string[]): DecisionLine => ({
    line_number: n,
    allowed: "90.00",
    deductible: "0",
    copay: "0",
    coinsurance: "0",
    paid,
    group_code: "CO",
    carc,
    rarc,
    adjustments: [],
  });
  const ours = (decision: string, lines: DecisionLine[]): OurWork => ({
    decision,
    version: 3,
    text: "Units over the documented time.",
    denial_group_code: null,
    denial_carc: null,
    pend_reason: null,
    paid: null,
    file_name: null,
    lines,
  });

  it("brings back a partial's reduced lines, codes and the person's remarks", () => {
    const priced = [
      { ...line(1, "90.00"), rarc: ["N381"] },
      { ...line(2, "40.00"), rarc: ["N381"] },
    ];
    const draft = draftFrom(
      ours("partial", [sent(1, "60.00", "50", ["N381", "M127"]), sent(2, "40.00", "45", ["N381", "M127"])]),
      priced,
    );
    expect(draft.kind).toBe("partial");
    expect(draft.paid).toEqual({ 1: "60.00" });
    expect([draft.reductionGroup, draft.reductionCarc]).toEqual(["CO", "50"]);
    expect(draft.rarc).toEqual(["M127"]);
    expect(draft.explanation).toBe("Units over the documented time.");
  });
});

describe("paying over the engine", () => {
  const edit = (action: Edit["action"], overridable: boolean, line: number | null = null): Edit => ({
    code: action === "deny" ? "coverage_terminated" : "suspect_duplicate",
    carc: action === "deny" ? "27" : "18",
    group: action === "deny" ? "PR" : "CO",
    line_number: line,
    action,
    overridable,
    explanation: action === "deny" ? "Coverage had ended." : "Possible duplicate of claim CLM-1.",
  });

  it("refuses to pay a claim the engine denies outright, but lets it be denied", () => {
    const form = { ...emptyForm(), kind: "approve" as const };
    expect(problems(form, [], [], [], [edit("deny", false)])).toEqual(["This claim cannot be paid: Coverage had ended. Deny it instead."]);
    // A line-level denial leaves the rest payable.
    expect(problems(form, [], [], [], [edit("deny", false, 2)])).toEqual([]);
    const deny = { ...emptyForm(), kind: "deny" as const, carc: "27", groupCode: "PR", explanation: "ended" };
    expect(problems(deny, [{ code: "27", description: "", group_codes: ["PR"], is_denial: true }], [], [], [edit("deny", false)])).toEqual([]);
  });

  it("asks for an override reason to pay over a hold, and sends it", () => {
    const form = { ...emptyForm(), kind: "approve" as const };
    expect(problems(form, [], [], [], [edit("pend", true)])[0]).toMatch(/^Write an override reason/);
    form.overrideReason = "  corrected claim, first billed in error ";
    expect(problems(form, [], [], [], [edit("pend", true)])).toEqual([]);
    expect(toInput(form).override_reason).toBe("corrected claim, first billed in error");
    expect(toInput({ ...form, kind: "pend", pendReason: "records" }).override_reason).toBeNull();
  });
});
