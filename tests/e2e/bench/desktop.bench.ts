// Desktop figures on the real window (issue 6): cold start to an
// interactive queue, idle memory, and claim open time. Run with
// scripts/bench-desktop, against the release build; not part of the tests.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { median, p95 } from "./stats";
import { byTestId, database, launchApp, type RunningApp } from "../support/app";

const USER = process.env.CLAIMDESK_E2E_USER ?? "demo";
const PASSWORD = process.env.CLAIMDESK_E2E_PASSWORD ?? "demo-password";
const OPENS = Number(process.env.CLAIMDESK_BENCH_OPENS ?? 30);

type B = RunningApp["browser"];


interface Memory {
  /** Resident set of the app process, MiB. */
  app: number;
  /** Of which private anonymous memory (heap, stacks): the app's own, MiB. */
  anonymous: number;
  /** Proportional set size: shared library pages divided among their users, MiB. */
  pss: number;
  /** Resident set of the WebKit web and network processes, MiB. */
  webkit: number;
}

/** Memory of the app and the WebKit processes it started. */
function memory(): Memory {
  const app = process.env.CLAIMDESK_E2E_APP ?? "";
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0) / 1024;
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  const cmd = (pid: string) => read(`/proc/${pid}/cmdline`).split("\0");
  const parent = (pid: string) => read(`/proc/${pid}/stat`).split(") ")[1]?.split(" ")[1] ?? "";
  const appPids = pids.filter((p) => cmd(p)[0] === app);
  const webkit = pids.filter((p) => appPids.includes(parent(p)) && /WebKit/.test(cmd(p)[0] ?? ""));
  const rollup = appPids.map((p) => read(`/proc/${p}/smaps_rollup`)).join("\n");
  return {
    app: field(rollup, "Rss"),
    anonymous: field(rollup, "Anonymous"),
    pss: field(rollup, "Pss"),
    webkit: webkit.reduce((t, p) => t + field(read(`/proc/${p}/status`), "VmRSS"), 0),
  };
}

/**
 * Clicks Sign in (credentials already typed) and waits for the queue's rows
 * to be painted; milliseconds in the page's own clock, so WebDriver's typing
 * and polling are not counted.
 */
async function timedSignIn(b: B): Promise<number> {
  await byTestId(b, "login-password").waitForDisplayed();
  return b.executeAsync((done: (ms: number) => void) => {
    const start = performance.now();
    (document.querySelector('[data-testid="login-submit"]') as HTMLElement).click();
    const check = () => {
      if (document.querySelectorAll('[data-testid="queue-claim-number"]').length > 5)
        requestAnimationFrame(() => done(performance.now() - start));
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
}

/** Types the credentials without submitting. */
async function typeCredentials(b: B): Promise<void> {
  await byTestId(b, "login-username").setValue(USER);
  await byTestId(b, "login-password").setValue(PASSWORD);
}

/** Clicks queue row `i` and waits for the workspace to render; milliseconds in the page's own clock. */
async function timedOpen(b: B, i: number): Promise<number> {
  return b.executeAsync((index: number, done: (ms: number) => void) => {
    const rows = document.querySelectorAll<HTMLElement>('[data-testid="queue-row"]');
    const start = performance.now();
    rows[index].click();
    const check = () => {
      if (document.querySelector('[data-testid="workspace-claim-number"]')) {
        // The frame after the DOM has it is when it is on screen.
        requestAnimationFrame(() => done(performance.now() - start));
      } else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, i);
}

/** The first `n` claim ids in the queue, through the app's own command. */
async function queueIds(b: B, n: number): Promise<string[]> {
  return b.executeAsync((limit: number, done: (ids: string[]) => void) => {
    const w = window as unknown as { __TAURI_INTERNALS__: { invoke: (c: string, a: object) => Promise<{ rows: { id: string }[] }> } };
    void w.__TAURI_INTERNALS__.invoke("queue_page", { view: "all", offset: 0, limit }).then((p) => done(p.rows.map((r) => r.id)));
  }, n);
}

/**
 * The open_claim command alone (IPC both ways and the Rust side, no
 * render), and the size of what it returns; milliseconds in the page's clock.
 */
async function timedCommand(b: B, id: string): Promise<{ ms: number; bytes: number }> {
  return b.executeAsync((claim: string, done: (r: { ms: number; bytes: number }) => void) => {
    const w = window as unknown as { __TAURI_INTERNALS__: { invoke: (c: string, a: object) => Promise<unknown> } };
    const start = performance.now();
    void w.__TAURI_INTERNALS__.invoke("open_claim", { id: claim }).then((view) => {
      const ms = performance.now() - start;
      done({ ms, bytes: JSON.stringify(view).length });
    });
  }, id);
}

/**
 * Launch to an interactive login screen, from outside: the app is started
 * directly (no WebDriver) with CLAIMDESK_EXIT_WHEN_READY=login, so it exits
 * the moment the screen has painted; wall time from spawn to exit.
 */
async function launchToLogin(): Promise<number> {
  const home = mkdtempSync(join(tmpdir(), "claimdesk-bench-start-"));
  const started = performance.now();
  await new Promise<void>((ok, fail) => {
    const child = spawn(process.env.CLAIMDESK_E2E_APP ?? "", [], {
      env: { ...process.env, CLAIMDESK_HOME: home, CLAIMDESK_EXIT_WHEN_READY: "login" },
      stdio: "ignore",
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) ok();
      else fail(new Error(`the app exited with ${code}`));
    });
  });
  return performance.now() - started;
}

async function backToQueue(b: B): Promise<void> {
  await b.keys("Escape");
  await b.waitUntil(async () => (await b.$$('[data-testid="queue-claim-number"]').length) > 5, { timeout: 10_000 });
}

describe("desktop benchmark", () => {
  let app: RunningApp | undefined;
  afterAll(async () => {
    database("start");
    await app?.stop();
  });

  it("measures", async () => {
    // Cold starts: the first pays for reading the binary and libraries from disk.
    const starts: number[] = [];
    for (let i = 0; i < 6; i++) starts.push(await launchToLogin());
    const launched = performance.now();
    app = await launchApp();
    const b = app.browser;
    await byTestId(b, "login-username").waitForDisplayed({ timeout: 30_000 });
    const toLogin = performance.now() - launched;
    await typeCredentials(b);
    const toQueue = await timedSignIn(b);

    // Warm: one open of each claim stores it (and fetches from central).
    const online: number[] = [];
    for (let i = 0; i < OPENS; i++) {
      online.push(await timedOpen(b, i % 15));
      await backToQueue(b);
    }
    const ids = await queueIds(b, 15);
    const commandOnline: number[] = [];
    let bytes = 0;
    for (let i = 0; i < OPENS; i++) {
      const r = await timedCommand(b, ids[i % ids.length]);
      commandOnline.push(r.ms);
      bytes = Math.max(bytes, r.bytes);
    }
    // From this computer's copy only: central stopped.
    database("stop");
    await byTestId(b, "offline-banner").waitForDisplayed({ timeout: 60_000 });
    const cached: number[] = [];
    for (let i = 0; i < OPENS; i++) {
      cached.push(await timedOpen(b, i % 15));
      await backToQueue(b);
    }
    const commandCached: number[] = [];
    for (let i = 0; i < OPENS; i++) commandCached.push((await timedCommand(b, ids[i % ids.length])).ms);
    database("start");
    await byTestId(b, "offline-banner").waitForDisplayed({ reverse: true, timeout: 60_000 });
    await b.pause(10_000);
    const idle = memory();
    // A returning person: the same home (cache kept), the app started again.
    const home = app.home;
    await app.stop();
    app = await launchApp({ home });
    const again = app.browser;
    await byTestId(again, "login-username").waitForDisplayed({ timeout: 30_000 });
    await typeCredentials(again);
    const toQueueAgain = await timedSignIn(again);
    const cpu = execFileSync("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo || true"]).toString().trim();
    console.log(
      [
        "",
        `## Desktop benchmark (${process.env.CLAIMDESK_E2E_APP})`,
        cpu,
        "",
        "| What | Figure |",
        "|---|---|",
        `| Launch to an interactive login screen, no WebDriver (6 runs; first, then the rest) | ${starts.map((t) => t.toFixed(0)).join(", ")} ms |`,
        `| Launch to login screen (WebDriver session start included) | ${toLogin.toFixed(0)} ms |`,
        `| First sign-in, Sign in clicked to the queue painted (empty cache: the first sync of the queue included) | ${toQueue.toFixed(0)} ms |`,
        `| Sign-in, returning person (cache kept), Sign in clicked to the queue painted | ${toQueueAgain.toFixed(0)} ms |`,
        `| Claim open, central answering, click to rendered workspace (${OPENS}) | p50 ${median(online).toFixed(1)} ms, p95 ${p95(online).toFixed(1)} ms |`,
        `| Claim open from this computer's copy (central stopped) (${OPENS}) | p50 ${median(cached).toFixed(1)} ms, p95 ${p95(cached).toFixed(1)} ms |`,
        `| open_claim command alone, central answering (IPC + Rust, no render) | p50 ${median(commandOnline).toFixed(1)} ms, p95 ${p95(commandOnline).toFixed(1)} ms |`,
        `| open_claim command alone, from the copy | p50 ${median(commandCached).toFixed(1)} ms, p95 ${p95(commandCached).toFixed(1)} ms |`,
        `| Largest opened claim as JSON | ${(bytes / 1024).toFixed(1)} KiB |`,
        `| Idle RSS after 10 s on the queue: app process | ${idle.app.toFixed(1)} MiB |`,
        `| of which private anonymous memory (the app's own heap and stacks) | ${idle.anonymous.toFixed(1)} MiB |`,
        `| PSS of the app process (shared library pages divided among users) | ${idle.pss.toFixed(1)} MiB |`,
        `| Idle RSS: WebKit web and network processes | ${idle.webkit.toFixed(1)} MiB |`,
        "",
      ].join("\n"),
    );
  });
});
