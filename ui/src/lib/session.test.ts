import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { Session } from "./session.svelte";
import type { CommandError } from "./bindings";

const info = {
  version: "0.1.0",
  settings: {
    central: { host: "db.example", port: 5432, database: "claimdesk", tls_mode: "prefer" },
    documents: { cache_mib: 1024 },
    registries: { nppes_base_url: "https://npiregistry.cms.hhs.gov/api/", timeout_secs: 10 },
    session: { lock_after_minutes: 15 },
    lock_after_secs: 600,
    file: "/home/ada/.config/claimdesk/settings.toml",
    file_found: true,
    overridden_by: [],
  },
  settings_error: null,
  log_dir: "/tmp/logs",
};

const status = {
  server_version: "15.18 (Debian 15.18-0+deb12u1)",
  database: "claimdesk",
  user: "ada",
  address: "db.example:5432",
  latency_ms: 0.42,
  tls: "TLSv1.3",
  checked_at: "2026-11-21T09:00:00Z",
};

const unreachable: CommandError = { code: "server_unreachable", message: "cannot be reached" };

/** Answers commands from a table; a CommandError value is thrown as the command's error. */
function serve(table: Record<string, unknown>, calls: string[] = []) {
  mockIPC((cmd, args) => {
    calls.push(cmd);
    const answer = typeof table[cmd] === "function" ? (table[cmd] as (a: unknown) => unknown)(args) : table[cmd];
    if (answer && typeof answer === "object" && "code" in answer) throw answer;
    return answer;
  });
  return calls;
}

describe("Session", () => {
  let session: Session;
  beforeEach(() => {
    session = new Session(60_000);
  });
  afterEach(async () => {
    await session.logout();
    clearMocks();
  });

  it("starts at the login screen with the settings", async () => {
    serve({ app_info: info });
    await session.start();
    expect(session.phase).toBe("login");
    expect(session.info?.settings?.central.host).toBe("db.example");
  });

  it("logs in, passing the password through, and shows the status", async () => {
    let sent: unknown;
    serve({
      app_info: info,
      login: (args: unknown) => {
        sent = args;
        return status;
      },
      logout: null,
    });
    await session.start();
    expect(await session.login("ada", "pw")).toBe(true);
    expect(sent).toEqual({ username: "ada", password: "pw" });
    expect(session.phase).toBe("connected");
    expect(session.status?.server_version).toContain("15.18");
  });

  it("shows sync state and a rebuilt cache once, and signs out with a wipe when asked", async () => {
    const sync = {
      online: true,
      first_sync: null,
      synced_at: "2026-11-21T09:00:01Z",
      queue_synced_at: "2026-11-21T09:00:00Z",
      reference_changed_at: "2026-11-21T09:00:01Z",
      queue_len: 1234,
      outbox_pending: 2,
      outbox_conflicts: 1,
      last_error: null,
    };
    let notice: string | null = "key_changed";
    let logoutArgs: unknown;
    serve({
      app_info: info,
      login: status,
      local_status: () => {
        const answer = { sync, cache_rebuilt: notice };
        notice = null;
        return answer;
      },
      logout: (args: unknown) => {
        logoutArgs = args;
        return null;
      },
    });
    await session.start();
    expect(await session.login("ada", "pw")).toBe(true);
    expect(session.local?.sync.queue_len).toBe(1234);
    expect(session.cacheNotice).toBe("key_changed");
    await session.refreshLocal();
    expect(session.cacheNotice).toBe("key_changed"); // stays until dismissed
    await session.logout(true);
    expect(logoutArgs).toEqual({ wipe: true });
    expect(session.local).toBeNull();
    expect(session.cacheNotice).toBeNull();
  });

  it("locks, refuses a wrong password with the tries left, unlocks with the right one", async () => {
    const calls: string[] = [];
    let tries = 5;
    serve(
      {
        app_info: info,
        login: status,
        local_status: { sync: null, cache_rebuilt: null },
        lock_session: () => ({ locked: ["2026-11-21T09:15:00Z", "idle"], tries_left: tries, after_secs: 600 }),
        unlock_session: ({ password }: { password: string }) => {
          if (password === "pw") return { locked: null, tries_left: 5, after_secs: 600 };
          tries -= 1;
          return { code: "auth_failed", message: `${tries} tries left` };
        },
        logout: null,
      },
      calls,
    );
    await session.start();
    expect(session.lockAfterMs).toBe(600_000);
    await session.login("ada", "pw");
    await session.lock("idle");
    expect(session.phase).toBe("locked");
    expect(session.locked).toEqual({ at: "2026-11-21T09:15:00Z", reason: "idle" });
    expect(calls).toContain("lock_session");
    expect(await session.unlock("nope")).toBe(false);
    expect(session.phase).toBe("locked");
    expect(session.unlockError).toEqual({ code: "auth_failed", message: "4 tries left" });
    expect(await session.unlock("pw")).toBe(true);
    expect(session.phase).toBe("connected");
    expect(session.locked).toBeNull();
    expect(session.unlockError).toBeNull();
  });

  it("goes to sign-in, saying why, after too many wrong passwords", async () => {
    serve({
      app_info: info,
      login: status,
      local_status: { sync: null, cache_rebuilt: null },
      lock_session: { locked: ["2026-11-21T09:15:00Z", "manual"], tries_left: 1, after_secs: 600 },
      unlock_session: { code: "not_logged_in", message: "Too many wrong passwords: you were signed out." },
      logout: null,
    });
    await session.start();
    await session.login("ada", "pw");
    await session.lock("manual");
    expect(await session.unlock("guess")).toBe(false);
    expect(session.phase).toBe("login");
    expect(session.loginError?.message).toContain("Too many wrong passwords");
    expect(session.locked).toBeNull();
  });

  it("shows the lock when the app's side locked by itself", async () => {
    serve({
      app_info: info,
      login: status,
      local_status: { sync: null, cache_rebuilt: null },
      touch_session: { code: "session_locked", message: "ClaimDesk is locked." },
      logout: null,
    });
    await session.start();
    await session.login("ada", "pw");
    await session.touch();
    expect(session.phase).toBe("locked");
    expect(session.locked?.reason).toBe("idle");
  });

  it("reads the status often while the first sync settles, then at the normal pace", async () => {
    const sync = {
      online: true,
      first_sync: { applied: 2000, expected: 20000 },
      synced_at: null as string | null,
      queue_synced_at: null as string | null,
      reference_changed_at: null as string | null,
      queue_len: 2000,
      outbox_pending: 0,
      outbox_conflicts: 0,
      last_error: null,
    };
    const calls = serve({
      app_info: info,
      login: status,
      logout: null,
      connection_status: status,
      local_status: () => ({ sync, cache_rebuilt: null }),
    });
    await session.start();
    await session.login("ada", "pw");
    expect(session.settling).toBe(true);
    const reads = () => calls.filter((c) => c === "local_status").length;
    const before = reads();
    // The session polls every 60 s; while settling it reads within a second.
    await new Promise((r) => setTimeout(r, 700));
    expect(reads()).toBeGreaterThan(before);
    sync.queue_synced_at = "2026-11-21T09:00:00Z";
    await session.refreshLocal();
    expect(session.settling).toBe(false);
  });

  it("keeps the login screen with the keychain's code when there is no keychain", async () => {
    serve({ app_info: info, login: { code: "keychain_unavailable", message: "no keychain" } });
    await session.start();
    expect(await session.login("ada", "pw")).toBe(false);
    expect(session.phase).toBe("login");
    expect(session.loginError?.code).toBe("keychain_unavailable");
  });

  it("keeps the login screen and the error code on a wrong password", async () => {
    serve({ app_info: info, login: { code: "auth_failed", message: "rejected" } });
    await session.start();
    expect(await session.login("ada", "nope")).toBe(false);
    expect(session.phase).toBe("login");
    expect(session.loginError?.code).toBe("auth_failed");
    expect(session.busy).toBe(false);
  });

  it("flags an outage while logged in and clears it on recovery", async () => {
    let down = false;
    serve({
      app_info: info,
      login: status,
      logout: null,
      connection_status: () => (down ? unreachable : { ...status, latency_ms: 1.5 }),
    });
    await session.start();
    await session.login("ada", "pw");

    down = true;
    await session.refresh();
    expect(session.phase).toBe("connected");
    expect(session.connectionError?.code).toBe("server_unreachable");
    expect(session.status?.user).toBe("ada"); // last known status stays visible

    down = false;
    await session.refresh();
    expect(session.connectionError).toBeNull();
    expect(session.status?.latency_ms).toBe(1.5);
  });

  it("returns to login when the backend has no session", async () => {
    serve({ app_info: info, login: status, connection_status: { code: "not_logged_in", message: "x" }, logout: null });
    await session.start();
    await session.login("ada", "pw");
    await session.refresh();
    expect(session.phase).toBe("login");
    expect(session.status).toBeNull();
  });

  it("turns an IPC failure into an internal error instead of throwing", async () => {
    serve({
      app_info: info,
      login: () => {
        throw new Error("ipc broke");
      },
    });
    await session.start();
    expect(await session.login("ada", "pw")).toBe(false);
    expect(session.loginError?.code).toBe("internal");
  });
});
