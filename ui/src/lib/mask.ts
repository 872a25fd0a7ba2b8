/** A date of birth with day and month hidden: `1984-03-07` → `••/••/1984`. */
export function maskDate(iso: string): string {
  const year = /^(\d{4})-\d{2}-\d{2}$/.exec(iso)?.[1];
  return year ? `••/••/${year}` : "••/••/••••";
}
