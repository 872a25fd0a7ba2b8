import {
  commands,
  type AppInfo_Serialize as AppInfo,
  type CommandError,
  type ConnectionStatus_Serialize as ConnectionStatus,
  type LocalStatus_Serialize as LocalStatus,
  type RebuildReason,
} from "./bindings";
import { asCommandError } from "./errors";

export type Phase = "starting" | "login" | "connected";

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
    this.phase = "login";
  }

  #schedule(): void {
    this.#stop();
    this.#timer = setTimeout(async () => {
      await Promise.all([this.refresh(), this.refreshLocal()]);
      if (this.phase === "connected") this.#schedule();
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
