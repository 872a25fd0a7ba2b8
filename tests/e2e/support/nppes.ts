// A local stand-in for the NPPES NPI Registry: answers the app's lookups
// with the registry's recorded answers (tests/fixtures/nppes, verbatim).
// The app runs its production client against it, pointed here by
// CLAIMDESK_NPPES_BASE_URL.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ROOT } from "./app";

/** Which lookup gets which recording (the recordings' names are hashes). */
const BY_NUMBER: Record<string, string> = {
  "1568946812": "api-8bdc8b.json",
  "1720377294": "api-b2f594.json",
  "1234567893": "api-a2f836.json",
};

export interface Registry {
  baseUrl: string;
  /** The NPIs asked about (a search's whole query string), in order. */
  asked: string[];
  close(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const asked: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const number = url.searchParams.get("number") ?? "";
    asked.push(number || url.search);
    // Unknown NPIs get the registry's own zero-result answer.
    const file = BY_NUMBER[number] ?? "api-a2f836.json";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(readFileSync(join(ROOT, "tests/fixtures/nppes", file)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/`,
    asked,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
