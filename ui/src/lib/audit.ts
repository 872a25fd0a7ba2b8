import type {
  AuditDetail_Serialize as AuditDetail,
  AuditFilter_Deserialize as AuditFilter,
  ChainCheck_Serialize as ChainCheck,
  StaffRole,
} from "./bindings";

/** Events per page of the trail. */
export const PAGE = 100;

/** The trail's filter as the person types it: numbers, not ids. */
export interface FilterForm {
  user: string;
  role: StaffRole | "";
  memberNumber: string;
  claimNumber: string;
  npi: string;
  action: string;
  phiOnly: boolean;
  /** YYYY-MM-DD, inclusive. */
  from: string;
  /** YYYY-MM-DD, inclusive. */
  to: string;
  client: string;
}

export function emptyFilter(): FilterForm {
  return { user: "", role: "", memberNumber: "", claimNumber: "", npi: "", action: "", phiOnly: false, from: "", to: "", client: "" };
}

/** The day after `date` (YYYY-MM-DD), so a "to" date includes its whole day. */
export function dayAfter(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The form as the command takes it, with the ids the numbers resolved to. */
export function toFilter(
  form: FilterForm,
  ids: { member_id: string | null; claim_id: string | null; provider_id: string | null },
): AuditFilter {
  const text = (s: string) => s.trim() || null;
  return {
    user: text(form.user),
    role: form.role || null,
    member_id: ids.member_id,
    claim_id: ids.claim_id,
    provider_id: ids.provider_id,
    action: text(form.action),
    phi_only: form.phiOnly,
    from: form.from ? `${form.from}T00:00:00Z` : null,
    to: form.to ? `${dayAfter(form.to)}T00:00:00Z` : null,
    client: text(form.client),
  };
}

/** One changed column of an event: before and after. */
export interface Change {
  column: string;
  before: string | null;
  after: string | null;
}

/** An event's values side by side, column by column. */
export function changes(detail: Pick<AuditDetail, "old_values" | "new_values">): Change[] {
  const parse = (s: string | null): Record<string, unknown> => {
    if (!s) return {};
    try {
      const v: unknown = JSON.parse(s);
      return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
    } catch {
      return { value: s };
    }
  };
  const before = parse(detail.old_values);
  const after = parse(detail.new_values);
  const show = (v: unknown) => (v === undefined ? null : typeof v === "string" ? v : JSON.stringify(v));
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .sort()
    .map((column) => ({ column, before: show(before[column]), after: show(after[column]) }));
}

/** The client an event came from, in a few words. */
export function clientWords(clientInfo: string): string {
  try {
    const c = JSON.parse(clientInfo) as Record<string, string | null>;
    return [c.client ?? c.application_name, c.client_addr].filter(Boolean).join(" · ") || "—";
  } catch {
    return "—";
  }
}

/** A chain verification's answer in words. */
export function chainWords(check: ChainCheck): string {
  const b = check.report.first_break;
  const rows = check.report.rows_checked.toLocaleString("en-US");
  if (!b) return `Intact: ${rows} events verified in ${(check.millis / 1000).toFixed(1)} s.`;
  switch (b.kind) {
    case "content_changed":
      return `Broken: event ${b.seq} was altered after it was written (lane ${b.lane}).`;
    case "gap":
      return `Broken: an event is missing before event ${b.seq} (lane ${b.lane}, position ${b.expected}).`;
    case "broken_link":
      return `Broken: event ${b.seq} does not follow the event before it (lane ${b.lane}).`;
    case "head_mismatch":
      return `Broken: events were removed from the end of lane ${b.lane} (it ends at ${b.last_seq}; its head records ${b.head_seq}).`;
  }
}

