import {
  commands,
  type AppInfo_Serialize as AppInfo,
  type CommandError,
  type ConnectionStatus_Serialize as ConnectionStatus,
  type LocalStatus_Serialize as LocalStatus,
  type LockReason,
  type RebuildReason,
} from "./bindings";
import { asCommandError } from "./errors";
import { isoNow } from "./format";

export type Phase = "starting" | "login" | "connected" | "locked";

/** How often the status screen re-measures the connection. */
export const DEFAULT_POLL_MS = 3000;
/** Status reads while the first sync settles (local IPC, cheap). */
export const SETTLING_POLL_MS = 250;

/**
 * The person's session with the central server, as the screens see it.
 * Every server call goes through the generated bindings.
 */
export class Session {
  phase = $state<Phase>("starting");
  info = $state<AppInfo | null>(null);
  status = $state<ConnectionStatus | null>(null);
  /** Why the last login attempt failed. */
  loginError = $state<CommandError | null>(null);
  /** Set while logged in but the server does not answer; cleared on recovery. */
  connectionError = $state<CommandError | null>(null);
  busy = $state(false);
  /** Sync and outbox state of this computer's encrypted copy. */
  local = $state<LocalStatus | null>(null);
  /** Why this computer's copy had to be rebuilt at sign-in, until dismissed. */
  cacheNotice = $state<RebuildReason | null>(null);
  /** While locked: since when and why. */
  locked = $state<{ at: string; reason: LockReason } | null>(null);
  /** Why the last unlock failed. */
  unlockError = $state<CommandError | null>(null);

  /** The inactivity timeout in force (settings file or environment). */
  get lockAfterMs(): number {
    return (this.info?.settings?.lock_after_secs ?? 15 * 60) * 1000;
  }

  /** Central failed the sync engine's last attempt (not merely: first sync still running). */
  get syncOffline(): boolean {
    const sync = this.local?.sync;
    return !!sync && !sync.online && !!sync.last_error;
  }

  #pollMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(pollMs = DEFAULT_POLL_MS) {
    this.#pollMs = pollMs;
  }

  async start(): Promise<void> {
    this.info = await commands.appInfo();
    this.phase = "login";
  }

  async login(username: string, password: string): Promise<boolean> {
    this.busy = true;
    this.loginError = null;
    try {
      const result = await commands.login(username, password);
      if (result.status === "error") {
        this.loginError = result.error;
        return false;
      }
      this.status = result.data;
      this.connectionError = null;
      this.phase = "connected";
      await this.refreshLocal();
      this.#schedule();
      return true;
    } catch (thrown) {
      this.loginError = asCommandError(thrown);
      return false;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Locks the window: the rooms go (their data with them) and only the
   * lock screen shows until the password is given. The app's side drops
   * what it holds decrypted and refuses reads until then.
   */
  async lock(reason: LockReason): Promise<void> {
    if (this.phase !== "connected") return;
    this.#showLocked(isoNow(), reason);
    try {
      const result = await commands.lockSession(reason);
      if (result.status === "ok" && result.data.locked) {
        const [at, why] = result.data.locked;
        this.locked = { at, reason: why };
      } else if (result.status === "error" && result.error.code === "not_logged_in") {
        this.#toLogin();
      }
    } catch {
      // Locked on screen already; the app's side locks by itself too.
    }
  }

  /** A command answered session_locked: the app's side locked by itself. */
  lockedElsewhere(): void {
    if (this.phase === "connected") this.#showLocked(isoNow(), "idle");
  }

  #showLocked(at: string, reason: LockReason): void {
    this.unlockError = null;
    this.locked = { at, reason };
    this.phase = "locked";
  }

  async unlock(password: string): Promise<boolean> {
    this.busy = true;
    this.unlockError = null;
    try {
      const result = await commands.unlockSession(password);
      if (result.status === "ok") {
        this.locked = null;
        this.phase = "connected";
        return true;
      }
      if (result.error.code === "not_logged_in") {
        this.#toLogin();
        this.loginError = result.error;
      } else {
        this.unlockError = result.error;
      }
      return false;
    } catch (thrown) {
      this.unlockError = asCommandError(thrown);
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** The person is at the keyboard (reported now and then by the idle watch). */
  async touch(): Promise<void> {
    try {
      const result = await commands.touchSession();
      if (result.status === "error" && result.error.code === "session_locked") this.lockedElsewhere();
    } catch {
      // The next report tries again.
    }
  }

  /** Re-reads the status. A failure keeps the last status and flags the outage. */
  async refresh(): Promise<void> {
    try {
      const result = await commands.connectionStatus();
      if (result.status === "ok") {
        this.status = result.data;
        this.connectionError = null;
      } else if (result.error.code === "not_logged_in") {
        this.#toLogin();
      } else {
        this.connectionError = result.error;
      }
    } catch (thrown) {
      this.connectionError = asCommandError(thrown);
    }
  }

  /** Re-reads sync progress, connectivity and outbox depth. */
  async refreshLocal(): Promise<void> {
    try {
      const result = await commands.localStatus();
      if (result.status === "ok") {
        this.local = result.data;
        if (result.data.cache_rebuilt) this.cacheNotice = result.data.cache_rebuilt;
      }
    } catch {
      // The status bar keeps the last known state.
    }
  }

  /** Signs out; with `wipe`, this computer's encrypted copy is removed too. */
  async logout(wipe = false): Promise<void> {
    this.#stop();
    await commands.logout(wipe).catch(() => undefined);
    this.#toLogin();
  }

  #toLogin(): void {
    this.#stop();
    this.status = null;
    this.connectionError = null;
    this.local = null;
    this.cacheNotice = null;
    this.locked = null;
    this.unlockError = null;
    this.phase = "login";
  }

  #schedule(): void {
    this.#stop();
    this.#timer = setTimeout(async () => {
      await Promise.all([this.refresh(), this.refreshLocal()]);
      // Locked: status and sync are still read (they hold no PHI) so that
      // a session ended elsewhere is noticed.
      if (this.phase === "connected" || this.phase === "locked") this.#schedule();
    }, this.settling ? Math.min(this.#pollMs, SETTLING_POLL_MS) : this.#pollMs);
  }

  /**
   * The first sync after sign-in is under way: the queue is about to appear,
   * so status is read often until the queue has caught up once.
   */
  get settling(): boolean {
    const sync = this.local?.sync;
    return !sync || (!sync.queue_synced_at && !this.syncOffline);
  }

  #stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
