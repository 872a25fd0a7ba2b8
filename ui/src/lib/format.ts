/** Latency as a person reads it: sub-millisecond precision only where it matters. */
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "–";
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A rough quality word for the latency, for colour and screen readers. */
export function latencyGrade(ms: number | null): "good" | "fair" | "poor" | "unknown" {
  if (ms === null || !Number.isFinite(ms)) return "unknown";
  if (ms < 50) return "good";
  if (ms < 250) return "fair";
  return "poor";
}

/** `15.18 (Debian 15.18-0+deb12u1)` → `PostgreSQL 15.18`. */
export function shortServerVersion(version: string): string {
  const number = version.split(" ")[0];
  return number ? `PostgreSQL ${number}` : "PostgreSQL";
}

/** Now, as the app's side writes instants. */
export function isoNow(): string {
  return new Date().toISOString();
}

/** A code as words: "partially_approved" reads "partially approved". */
export function words(code: string): string {
  return code.replaceAll("_", " ");
}

/** An instant as central sends it (ISO, UTC) to "2026-12-08 01:36:19"; "—" for none. */
export function utcTime(at: string | null): string {
  return at ? at.replace("T", " ").slice(0, 19) : "—";
}
