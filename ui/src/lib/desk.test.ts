import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { Desk } from "./desk.svelte";

/** A claim view as the commands return it, trimmed to what the desk reads. */
function view(id: string, holder: string | null) {
  return {
    claim: { id, claim_number: `CLM-${id}`, version: 1, status: "in_review" },
    lines: [],
    diagnoses: [],
    notes: [],
    history: [],
    member: null,
    lease: holder ? { holder, expires_at: "2030-01-01T10:15:00Z" } : null,
    documents: [],
    source: { kind: "central" },
    pricing: null,
  };
}

/** Records the commands called, answering each from `answers`. */
function record(answers: Record<string, (args: Record<string, unknown>) => unknown>): string[] {
  const calls: string[] = [];
  mockIPC((cmd, args) => {
    calls.push(cmd);
    const answer = answers[cmd];
    if (!answer) throw new Error(`unexpected ${cmd}`);
    return answer((args ?? {}) as Record<string, unknown>);
  });
  return calls;
}

const quiet = { queue_page: () => ({ rows: [], total: 0 }), code_lists: () => ({ carcs: [], rarcs: [], group_codes: [], pend_reasons: [] }) };

describe("the desk's lease rule", () => {
  afterEach(() => {
    clearMocks();
    vi.useRealTimers();
  });

  it("takes the next claim, then gives back the one held (so N never returns the same claim)", async () => {
    let n = 0;
    const calls = record({ ...quiet, get_next: () => view(`c${++n}`, "ada"), release_claim: () => null });
    const desk = new Desk({ user: "ada", renewSecs: 60 });
    await desk.next();
    expect(desk.held()).toBe(true);
    await desk.next();
    expect(calls.filter((c) => c !== "code_lists" && c !== "queue_page")).toEqual(["get_next", "get_next", "release_claim"]);
    expect(desk.claim?.claim.id).toBe("c2");
    desk.stop();
  });

  it("keeps holding the claim when there is no next one", async () => {
    const calls = record({
      ...quiet,
      get_next: () => {
        if (calls.filter((c) => c === "get_next").length > 1) throw { code: "queue_empty", message: "No claim is waiting." };
        return view("c1", "ada");
      },
      release_claim: () => null,
    });
    const desk = new Desk({ user: "ada", renewSecs: 60 });
    await desk.next();
    await desk.next();
    expect(desk.claim?.claim.id).toBe("c1");
    expect(desk.held()).toBe(true);
    expect(calls).not.toContain("release_claim");
    desk.stop();
  });

  it("asks before leaving a held claim with a decision started, and keeps it when told to", async () => {
    const calls = record({ ...quiet, get_next: () => view("c1", "ada"), release_claim: () => null });
    const desk = new Desk({ user: "ada", renewSecs: 60 });
    await desk.next();
    desk.form().kind = "deny";
    await desk.leave();
    expect(desk.leaving?.claimNumber).toBe("CLM-c1");
    expect(calls).not.toContain("release_claim");
    desk.stay();
    expect(desk.claim?.claim.id).toBe("c1");
    await desk.leave();
    await desk.leaving!.go();
    expect(calls).toContain("release_claim");
    expect(desk.claim).toBeNull();
    expect(desk.drafts["c1"]).toBeUndefined();
  });

  it("opens a claim from the list read-only until the person takes it", async () => {
    const calls = record({ ...quiet, open_claim: () => view("c9", null), take_claim: () => view("c9", "ada") });
    const desk = new Desk({ user: "ada", renewSecs: 60 });
    await desk.open("c9");
    expect(desk.held()).toBe(false);
    // Leaving a claim not held gives nothing back.
    await desk.take();
    expect(desk.held()).toBe(true);
    expect(calls).toContain("take_claim");
    desk.stop();
  });

  it("renews the lease while the claim is open, says so when it is lost, and keeps the draft", async () => {
    vi.useFakeTimers();
    let lost = false;
    let renewals = 0;
    record({
      ...quiet,
      get_next: () => view("c1", "ada"),
      renew_lease: () => {
        renewals += 1;
        if (lost) throw { code: "lease_lost", message: "You no longer hold this claim." };
        return "2030-01-01T10:30:00Z";
      },
    });
    const desk = new Desk({ user: "ada", renewSecs: 5 });
    await desk.next();
    desk.form().explanation = "Second line bundled";
    await vi.advanceTimersByTimeAsync(5_000);
    expect(renewals).toBe(1);
    expect(desk.claim?.lease?.expires_at).toBe("2030-01-01T10:30:00Z");
    lost = true;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(desk.leaseLost).toBe(true);
    expect(desk.held()).toBe(false);
    expect(desk.form().explanation).toBe("Second line bundled");
    // No more renewals once it is gone, and none after the desk stops.
    desk.stop();
    const seen = renewals;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(renewals).toBe(seen);
  });
});
