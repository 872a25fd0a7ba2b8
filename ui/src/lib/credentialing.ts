import type {
  Agreement,
  Dashboard,
  ImportProgress,
  RegistryComparison,
  StaffRole,
  VerificationResult,
} from "./bindings";

/** The rooms of the app; a login sees those its groups open. */
export type Room = "desk" | "credentialing" | "supervisor";

/**
 * Rooms for a login's groups, the one to open first at the front. Central
 * enforces the groups anyway; this only keeps a person from screens that
 * would refuse them. A credentialing specialist has no claims desk: member
 * PHI is not theirs to open.
 */
export function rooms(roles: readonly StaffRole[]): Room[] {
  const out: Room[] = [];
  // A supervisor starts in supervision; they adjudicate too.
  if (roles.includes("supervisor") && !roles.includes("admin")) out.push("supervisor");
  if (roles.some((r) => r === "adjudicator" || r === "supervisor" || r === "admin")) out.push("desk");
  if (roles.some((r) => r === "credentialing" || r === "admin")) out.push("credentialing");
  if (roles.includes("admin")) out.push("supervisor");
  return out;
}

export const ROOM_NAMES: Record<Room, string> = { desk: "Claims", credentialing: "Credentialing", supervisor: "Supervision" };

/** The dashboard's counts, each opening the list behind it. */
export type WorkList = "expiring_30" | "expiring_60" | "expiring_90" | "stale_verifications" | "recredential_due" | "pending";

export const WORK_LISTS: { list: WorkList; label: string; hint: string }[] = [
  { list: "expiring_30", label: "Expiring ≤ 30 days", hint: "Credentials expiring within 30 days, or lapsed and not yet marked" },
  { list: "expiring_60", label: "Expiring 31–60 days", hint: "Credentials expiring in 31 to 60 days" },
  { list: "expiring_90", label: "Expiring 61–90 days", hint: "Credentials expiring in 61 to 90 days" },
  { list: "stale_verifications", label: "Verification > 120 days", hint: "No primary-source verification within 120 days (NCQA)" },
  { list: "recredential_due", label: "Recredentialing due", hint: "The 36-month recredentialing falls within 90 days, or is overdue" },
  { list: "pending", label: "Pending", hint: "Credentials waiting for primary-source verification" },
];

export function count(dashboard: Dashboard, list: WorkList): number {
  return dashboard[list].length;
}

/** Whole days from `today` to `date` (both YYYY-MM-DD), negative when past. */
export function daysUntil(date: string, today: string): number {
  return Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000);
}

/** "in 12 days", "today", "3 days ago". */
export function relativeDays(date: string, today: string): string {
  const days = daysUntil(date, today);
  if (days === 0) return "today";
  const n = Math.abs(days);
  const unit = n === 1 ? "day" : "days";
  return days > 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

/** Today as YYYY-MM-DD in UTC, the day central's work lists use. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export const CREDENTIAL_TYPES: Record<string, string> = {
  medical_license: "Medical license",
  board_certification: "Board certification",
  dea: "DEA registration",
  malpractice_insurance: "Malpractice insurance",
  hospital_privileges: "Hospital privileges",
};

export const RESULTS: { result: VerificationResult; label: string }[] = [
  { result: "verified", label: "Verified" },
  { result: "discrepancy", label: "Discrepancy" },
  { result: "not_found", label: "Not found at source" },
  { result: "expired", label: "Expired" },
  { result: "revoked", label: "Revoked" },
];

export const AGREEMENT: Record<Agreement, string> = {
  same: "Same",
  differs: "Differs",
  only_ours: "Only ours",
  only_registry: "Only NPPES",
};

export const NPPES_SOURCE = "NPPES NPI Registry";

/** A verification form filled from a registry comparison, for the person to check. */
export function draftFromComparison(comparison: RegistryComparison): {
  source: string;
  result: VerificationResult;
  notes: string;
} {
  if (!comparison.record) {
    return { source: NPPES_SOURCE, result: "not_found", notes: `NPI ${comparison.npi} is not in the NPI Registry.` };
  }
  const off = comparison.rows.filter((r) => r.agreement !== "same");
  if (off.length === 0) {
    return { source: NPPES_SOURCE, result: "verified", notes: "" };
  }
  const words = off.map((r) => `${r.field}: ours ${r.ours ?? "none"}, NPPES ${r.registry ?? "none"}`);
  return { source: NPPES_SOURCE, result: "discrepancy", notes: `Differs from NPPES. ${words.join("; ")}.` };
}

/** One bar across an import's stages: reading 0–30 %, storing 30–50 %, screening 50–100 %. */
export function importPercent(progress: ImportProgress | null): number {
  if (!progress) return 0;
  const part = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 1;
  switch (progress.stage) {
    case "reading":
      return Math.round(30 * part);
    case "storing":
      return Math.round(30 + 20 * part);
    case "screening":
      return Math.round(50 + 50 * part);
    case "done":
      return 100;
  }
}

export const STAGE_WORDS: Record<ImportProgress["stage"], string> = {
  reading: "Reading the file",
  storing: "Keeping the list on central",
  screening: "Screening every provider",
  done: "Done",
};
