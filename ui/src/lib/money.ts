/**
 * Money on the screen, exactly: amounts arrive as decimal strings and are
 * summed here as integer cents (BigInt), never as floats.
 */

/** `"12.3"` → `1230n`. Amounts carry at most two decimals (numeric(12,2)). */
export function cents(amount: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{0,2})\d*)?$/.exec(amount.trim());
  if (!match) throw new Error(`not an amount: ${amount}`);
  const [, sign, whole, fraction = ""] = match;
  const value = BigInt(whole) * 100n + BigInt((fraction + "00").slice(0, 2));
  return sign ? -value : value;
}

/** `1230n` → `"12.30"`. */
export function fromCents(value: bigint): string {
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, "0")}`;
}

/** The sum of decimal strings, as a decimal string. */
export function sum(amounts: readonly string[]): string {
  return fromCents(amounts.reduce((total, a) => total + cents(a), 0n));
}

/** `"1234.5"` → `"$1,234.50"`. */
export function money(amount: string): string {
  let value: bigint;
  try {
    value = cents(amount);
  } catch {
    return amount;
  }
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  const whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}$${whole}.${(abs % 100n).toString().padStart(2, "0")}`;
}

/** a > b, for amounts. */
export function exceeds(a: string, b: string): boolean {
  return cents(a) > cents(b);
}

/** Share of `part` in `whole`, 0–100, for progress bars (display only). */
export function percent(part: string, whole: string): number {
  const w = cents(whole);
  if (w <= 0n) return 100;
  const p = cents(part);
  return Number((p * 10000n) / w) / 100;
}
