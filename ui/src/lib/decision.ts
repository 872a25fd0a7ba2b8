import type { Carc, DecisionKind, Edit, LineResult, OurWork, Rarc } from "./bindings";
import { cents } from "./money";

/** The decision panel's fields, as typed. Kept per claim so nothing typed is lost. */
export interface DecisionForm {
  kind: DecisionKind | null;
  explanation: string;
  groupCode: string;
  carc: string;
  pendReason: string;
  /** Partial: line number → amount to pay, as typed. */
  paid: Record<number, string>;
  /** Partial: group and reason for the reductions. */
  reductionGroup: string;
  reductionCarc: string;
  /** Remark codes (RARCs) added to the lines. */
  rarc: string[];
  /** Approving over an edit that holds the claim: why. */
  overrideReason: string;
}

export function emptyForm(): DecisionForm {
  return {
    kind: null,
    explanation: "",
    groupCode: "",
    carc: "",
    pendReason: "",
    paid: {},
    reductionGroup: "CO",
    reductionCarc: "",
    rarc: [],
    overrideReason: "",
  };
}

/** Whether anything was typed or chosen: leaving the claim would lose it. */
export function hasDraft(form: DecisionForm | undefined): boolean {
  if (!form) return false;
  return (
    form.kind !== null ||
    form.explanation.trim() !== "" ||
    form.overrideReason.trim() !== "" ||
    form.rarc.length > 0 ||
    Object.values(form.paid).some((v) => v !== undefined && v.trim() !== "")
  );
}

/** Claim-level edits the engine denies by, which no approval can pass (central refuses too). */
export function denialsThatBind(edits: readonly Edit[]): Edit[] {
  return edits.filter((e) => e.line_number === null && e.action === "deny" && !e.overridable);
}

/** Edits that hold the claim: paying it needs an override reason. */
export function holds(edits: readonly Edit[]): Edit[] {
  return edits.filter((e) => e.action === "pend");
}

/** Whether the decision pays (approve or partial). */
export function pays(kind: DecisionKind | null): boolean {
  return kind === "approve" || kind === "partial";
}

/** The decisions, their keys and labels, in panel order. */
export const KINDS: ReadonlyArray<{ kind: DecisionKind; label: string; key: string }> = [
  { kind: "approve", label: "Approve", key: "a" },
  { kind: "partial", label: "Partial", key: "l" },
  { kind: "deny", label: "Deny", key: "d" },
  { kind: "pend", label: "Pend", key: "p" },
  { kind: "request_info", label: "Request info", key: "i" },
];

/**
 * CARCs matching what was typed (code prefix or words of the description),
 * denial reasons only when `denialsOnly`; exact code first.
 */
export function matchCarcs(query: string, carcs: readonly Carc[], denialsOnly: boolean): Carc[] {
  const q = query.trim().toLowerCase();
  const pool = denialsOnly ? carcs.filter((c) => c.is_denial) : carcs;
  if (!q) return [...pool];
  const words = q.split(/\s+/);
  return pool
    .filter((c) => c.code.toLowerCase().startsWith(q) || words.every((w) => c.description.toLowerCase().includes(w)))
    .sort((a, b) => Number(b.code.toLowerCase() === q) - Number(a.code.toLowerCase() === q));
}

/** Group codes that go with a CARC (all groups when no CARC is chosen yet). */
export function groupsFor(carc: string, carcs: readonly Carc[], all: readonly string[]): string[] {
  const found = carcs.find((c) => c.code === carc);
  return found ? found.group_codes : [...all];
}

/** Decisions that put lines on the remittance, so remarks can go with them. */
export function takesRemarks(kind: DecisionKind | null): boolean {
  return kind === "approve" || kind === "partial" || kind === "deny";
}

/**
 * The reasons (CARCs) on the decision as it stands: a denial's own reason
 * replaces the engine's; otherwise the engine's adjustments plus the
 * person's reduction reason.
 */
export function reasonsOn(form: DecisionForm, lines: readonly LineResult[]): string[] {
  if (form.kind === "deny") return form.carc ? [form.carc] : [];
  const found = new Set(lines.flatMap((l) => l.adjustments.map((a) => a.carc)));
  if (form.kind === "partial" && form.reductionCarc) found.add(form.reductionCarc);
  return [...found];
}

/**
 * Remarks that explain one of `reasons` and match what was typed (code
 * prefix or words), not already chosen; exact code first.
 */
export function matchRemarks(query: string, rarcs: readonly Rarc[], reasons: readonly string[], chosen: readonly string[]): Rarc[] {
  const q = query.trim().toLowerCase();
  const words = q.split(/\s+/).filter(Boolean);
  return rarcs
    .filter((r) => !chosen.includes(r.code) && r.carcs.some((c) => reasons.includes(c)))
    .filter((r) => !q || r.code.toLowerCase().startsWith(q) || words.every((w) => r.description.toLowerCase().includes(w)))
    .sort((a, b) => Number(b.code.toLowerCase() === q) - Number(a.code.toLowerCase() === q));
}

/** What still stops the decision, in words; empty when it can be submitted. */
export function problems(
  form: DecisionForm,
  carcs: readonly Carc[],
  lines: readonly LineResult[],
  rarcs: readonly Rarc[] = [],
  edits: readonly Edit[] = [],
): string[] {
  const out: string[] = [];
  if (pays(form.kind)) {
    for (const e of denialsThatBind(edits)) out.push(`This claim cannot be paid: ${e.explanation} Deny it instead.`);
    const held = holds(edits);
    if (held.length > 0 && !form.overrideReason.trim())
      out.push(`Write an override reason to pay over: ${held.map((e) => e.explanation).join(" ")}`);
  }
  const text = form.explanation.trim();
  switch (form.kind) {
    case null:
      out.push("Choose a decision.");
      break;
    case "deny": {
      if (!form.carc) out.push("Choose a reason code (CARC).");
      if (!form.groupCode) out.push("Choose a group code.");
      if (form.carc && form.groupCode && !groupsFor(form.carc, carcs, []).includes(form.groupCode))
        out.push(`Reason ${form.carc} is not reported with group ${form.groupCode}.`);
      if (!text) out.push("Write an explanation.");
      break;
    }
    case "partial": {
      if (!text) out.push("Write a justification.");
      let reduced = false;
      for (const line of lines) {
        const typed = form.paid[line.line_number];
        if (typed === undefined || typed.trim() === "") continue;
        let value: bigint;
        try {
          value = cents(typed);
        } catch {
          out.push(`Line ${line.line_number}: enter an amount like 120.00.`);
          continue;
        }
        if (value < 0n || value > cents(line.paid)) out.push(`Line ${line.line_number}: pay between 0 and ${line.paid}.`);
        else if (value < cents(line.paid)) reduced = true;
      }
      if (!reduced) out.push("Pay less on at least one line.");
      if (reduced && !form.reductionCarc) out.push("Choose a reason code for the reductions.");
      break;
    }
    case "pend":
    case "request_info":
      if (!form.pendReason) out.push("Choose why the claim waits.");
      break;
    case "approve":
      break;
  }
  if (takesRemarks(form.kind)) {
    const reasons = reasonsOn(form, lines);
    for (const code of form.rarc) {
      const remark = rarcs.find((r) => r.code === code);
      if (remark && !remark.carcs.some((c) => reasons.includes(c)))
        out.push(`Remark ${code} explains ${remark.carcs.join(", ")}, not a reason on this decision: remove it or change the reason.`);
    }
  }
  return out;
}

/** What the decision pays, as a decimal string. */
export function paidTotal(form: DecisionForm, lines: readonly LineResult[]): bigint {
  switch (form.kind) {
    case "approve":
      return lines.reduce((t, l) => t + cents(l.paid), 0n);
    case "partial":
      return lines.reduce((t, l) => {
        const typed = form.paid[l.line_number];
        try {
          return t + (typed && typed.trim() ? cents(typed) : cents(l.paid));
        } catch {
          return t + cents(l.paid);
        }
      }, 0n);
    default:
      return 0n;
  }
}

/**
 * The panel as the person filled it in for a refused decision, rebuilt from
 * what was sent and the claim as priced now: a line paid less than priced
 * is a reduction (with its codes), and remarks on every sent line that the
 * engine did not put there are the person's.
 */
export function draftFrom(ours: OurWork, priced: readonly LineResult[]): DecisionForm {
  const draft = emptyForm();
  draft.kind = (ours.decision as DecisionKind | null) ?? null;
  draft.explanation = ours.text ?? "";
  draft.groupCode = ours.denial_group_code ?? "";
  draft.carc = ours.denial_carc ?? "";
  draft.pendReason = ours.pend_reason ?? "";
  if (draft.kind === "partial") {
    for (const sent of ours.lines) {
      const now = priced.find((p) => p.line_number === sent.line_number);
      if (now && cents(sent.paid) < cents(now.paid)) {
        draft.paid[sent.line_number] = sent.paid;
        draft.reductionGroup = sent.group_code ?? draft.reductionGroup;
        draft.reductionCarc = sent.carc ?? draft.reductionCarc;
      }
    }
  }
  const onEvery = (lists: string[][]): string[] => (lists.length ? lists.reduce((a, b) => a.filter((r) => b.includes(r))) : []);
  const engines = onEvery(priced.map((l) => l.rarc));
  draft.rarc = onEvery(ours.lines.map((l) => l.rarc)).filter((r) => draft.kind === "deny" || !engines.includes(r));
  return draft;
}
