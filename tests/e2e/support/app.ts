// Starts the real ClaimDesk binary under tauri-driver and hands back a
// WebdriverIO browser bound to its window. One per spec file.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, existsSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { remote } from "webdriverio";

export const ROOT = resolve(import.meta.dirname, "../../..");
const APP = process.env.CLAIMDESK_E2E_APP ?? join(ROOT, "target/debug/claimdesk");

export type Browser = Awaited<ReturnType<typeof remote>>;

export interface RunningApp {
  browser: Browser;
  /** The app's private CLAIMDESK_HOME (config, logs, data). */
  home: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      ok(true);
    });
    socket.once("error", () => ok(false));
  });
}

async function waitForPorts(ports: number[], driver: ChildProcess, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (driver.exitCode !== null) throw new Error(`tauri-driver exited with ${driver.exitCode}`);
    const up = await Promise.all(ports.map(listening));
    if (up.every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tauri-driver did not listen on ${ports.join(", ")} within ${ms} ms`);
}

export interface LaunchOptions {
  /** Extra environment, e.g. central settings overrides. */
  env?: Record<string, string>;
  /** Contents of settings.toml to place in the app's config directory. */
  settingsFile?: string;
  /** Reuse this CLAIMDESK_HOME (a returning person: cache and keychain entry kept). */
  home?: string;
}

/** Launches the app in a private CLAIMDESK_HOME. */
export async function launchApp({ env = {}, settingsFile, home: reuse }: LaunchOptions = {}): Promise<RunningApp> {
  if (!existsSync(APP)) throw new Error(`no app binary at ${APP}: build it with scripts/test`);
  const home = reuse ?? mkdtempSync(join(tmpdir(), "claimdesk-e2e-"));
  if (settingsFile !== undefined) {
    mkdirSync(join(home, "config"), { recursive: true });
    writeFileSync(join(home, "config", "settings.toml"), settingsFile);
  }
  const [port, nativePort] = [await freePort(), await freePort()];
  const driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
    env: { ...process.env, CLAIMDESK_HOME: home, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  try {
    // tauri-driver listens before its WebKitWebDriver child does; wait for both,
    // or a third of sessions fail with "Remote end closed connection".
    await waitForPorts([port, nativePort], driver);
    const browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "warn",
      capabilities: {
        browserName: "wry",
        "tauri:options": { application: APP },
        "wdio:enforceWebDriverClassic": true,
      } as WebdriverIO.Capabilities,
    });
    return {
      browser,
      home,
      async stop() {
        await browser.deleteSession().catch(() => undefined);
        driver.kill("SIGTERM");
      },
    };
  } catch (error) {
    driver.kill("SIGKILL");
    throw error;
  }
}

/** Types credentials into the login form and submits it. */
export async function signIn(browser: Browser, user: string, password: string): Promise<void> {
  const username = byTestId(browser, "login-username");
  await username.waitForDisplayed({ timeout: 20_000 });
  const passwordField = byTestId(browser, "login-password");
  // Typed again if anything moved focus while typing (checked, not assumed).
  for (let attempt = 0; attempt < 3; attempt++) {
    await username.setValue(user);
    await passwordField.setValue(password);
    if ((await username.getValue()) === user && (await passwordField.getValue()) === password) break;
  }
  await byTestId(browser, "login-submit").click();
}

/** Waits for the login error and returns its code and text. */
export async function loginError(browser: Browser): Promise<{ code: string | null; text: string }> {
  const error = byTestId(browser, "login-error");
  await error.waitForDisplayed({ timeout: 15_000 });
  return { code: await error.getAttribute("data-code"), text: await error.getText() };
}

/** Finds an element by its data-testid. */
export function byTestId(browser: Browser, id: string) {
  return browser.$(`[data-testid="${id}"]`);
}

/**
 * Screenshot of the whole X display: the real window as a person sees it,
 * not just the web view. WebKitGTK presents frames to X a little after the
 * DOM settles, so wait for two animation frames and a short grace first.
 */
export async function screenshot(browser: Browser, name: string): Promise<string> {
  const dir = process.env.CLAIMDESK_E2E_ARTIFACTS ?? join(ROOT, ".test-run/screenshots");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await browser.executeAsync((done: () => void) =>
    requestAnimationFrame(() => requestAnimationFrame(() => done())),
  );
  await browser.pause(1000);
  try {
    execFileSync("import", ["-window", "root", file], { stdio: "ignore" });
  } catch {
    await browser.saveScreenshot(file);
  }
  return file;
}

/** Stops or starts the test's PostgreSQL cluster (scripts/pg-cluster). */
export function database(action: "stop" | "start"): void {
  const dir = process.env.CLAIMDESK_TEST_PGCLUSTER;
  if (!dir) throw new Error("CLAIMDESK_TEST_PGCLUSTER is not set: run ./scripts/test");
  execFileSync(join(ROOT, "scripts/pg-cluster"), [action, dir], { stdio: "inherit" });
}

/** Waits for `what` to hold, polling; fails with `message` after `timeout` ms. */
export async function until(
  browser: Browser,
  what: () => boolean | Promise<boolean>,
  message: string,
  timeout = 20_000,
): Promise<void> {
  await browser.waitUntil(async () => await what(), { timeout, interval: 200, timeoutMsg: message });
}

/**
 * Calls one of the app's commands from the page, as the UI would, past
 * whatever the UI shows: `{ ok: data }` or `{ error: { code, message } }`.
 */
export async function invokeCommand(browser: Browser, command: string, args: object): Promise<unknown> {
  const answer = await browser.executeAsync(
    (command: string, json: string, done: (r: string) => void) => {
      const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: (c: string, a: object) => Promise<unknown> } })
        .__TAURI_INTERNALS__;
      internals.invoke(command, JSON.parse(json)).then(
        (data) => done(JSON.stringify({ ok: data ?? null })),
        (error: unknown) => done(JSON.stringify({ error })),
      );
    },
    command,
    JSON.stringify(args),
  );
  return JSON.parse(answer);
}

/** The test's central database as its owner, as a postgres:// URL. */
export function centralUrl(): string {
  const dir = process.env.CLAIMDESK_TEST_PGCLUSTER;
  if (!dir) throw new Error("CLAIMDESK_TEST_PGCLUSTER is not set: run ./scripts/test");
  return execFileSync(join(ROOT, "scripts/pg-cluster"), ["url", dir, process.env.CLAIMDESK_CENTRAL_DATABASE ?? "claimdesk"])
    .toString()
    .trim();
}

/** Runs one query on the test's central database as its owner; returns the rows as text. */
export function sql(query: string): string {
  return execFileSync("psql", ["-qtAX", centralUrl(), "-c", query]).toString().trim();
}

/**
 * Runs the built claimdesk-admin against the test's central database, its
 * home (logs) under `home`; returns what it printed. Throws on a failure.
 */
export function admin(args: string[], home: string): string {
  return execFileSync(join(ROOT, "target/debug/claimdesk-admin"), args, {
    env: { ...process.env, CLAIMDESK_ADMIN_DATABASE_URL: centralUrl(), CLAIMDESK_HOME: home },
  }).toString();
}
