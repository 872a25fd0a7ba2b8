#!/usr/bin/env node
// Searches every log file under the given folders for the PHI in the
// central database the end-to-end run used: members' names, member
// numbers, dates of birth, street addresses and phone numbers, and the
// diagnosis codes on their claims. Run after the end-to-end flows (scripts/test
// does); any hit fails it, naming the file and the kind of value, never
// the value itself.
//
// usage: node scripts/phi-logs.mjs DATABASE_URL FOLDER...
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const [url, ...folders] = process.argv.slice(2);
if (!url || folders.length === 0) {
  console.error("usage: node scripts/phi-logs.mjs DATABASE_URL FOLDER...");
  process.exit(2);
}

function rows(sql) {
  return execFileSync("psql", ["-qtAX", "-F", "\t", url, "-c", sql], { maxBuffer: 1 << 28 })
    .toString()
    .split("\n")
    .filter(Boolean);
}

// Values long enough to be telling: a four-letter name could be a word in a
// log line ("Cole", "Long"); full names and numbers cannot.
const phi = new Map();
const add = (kind, value) => {
  if (value && value.length >= 6) phi.set(value, kind);
};
for (const line of rows(
  `SELECT first_name || ' ' || last_name, last_name || ', ' || first_name, member_number,
          to_char(date_of_birth, 'YYYY-MM-DD'), coalesce(address_line1, ''), coalesce(phone, '')
   FROM claimdesk.member`,
)) {
  const [full, sorted, number, dob, address, phone] = line.split("\t");
  add("member name", full);
  add("member name", sorted);
  add("member number", number);
  add("date of birth", dob);
  add("address", address);
  add("phone", phone);
}
// Diagnosis codes with their words are PHI once tied to a person; the codes
// alone are reference data, so look for the words of the codes in use.
for (const [words] of rows(
  `SELECT DISTINCT i.short_description FROM claimdesk.claim_diagnosis d JOIN claimdesk.icd10_code i ON i.code = d.icd10_code`,
).map((l) => l.split("\t"))) {
  add("diagnosis", words);
}
if (phi.size === 0) {
  console.error("no PHI found in the database: nothing to search for (wrong database?)");
  process.exit(2);
}

function* files(dir) {
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) yield* files(path);
    else if (/\.log(\.|$)|\.jsonl?$/.test(name) || /logs?\//.test(path)) yield path;
  }
}

let scanned = 0;
let bytes = 0;
const hits = [];
for (const folder of folders) {
  for (const file of files(folder)) {
    const text = readFileSync(file, "utf8");
    scanned++;
    bytes += text.length;
    for (const [value, kind] of phi) {
      if (text.includes(value)) hits.push(`${file}: a ${kind}`);
    }
  }
}
if (scanned === 0) {
  console.error(`no log files under ${folders.join(", ")}: the flows wrote none, or the folders are wrong`);
  process.exit(2);
}
console.log(`searched ${scanned} log files (${(bytes / 1024).toFixed(0)} KiB) for ${phi.size} PHI values`);
if (hits.length > 0) {
  console.error(`PHI found in logs:\n  ${hits.join("\n  ")}`);
  process.exit(1);
}
console.log("no PHI in any log");
