import type { CommandError, ErrorCode } from "./bindings";

/** Codes after which the same request may succeed without the person changing anything. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["server_unreachable", "server_busy"]);

export function isTransient(error: CommandError): boolean {
  return TRANSIENT.has(error.code);
}

/** What the person can do about an error, beyond the message itself. */
export function remedy(error: CommandError, settingsFile?: string): string | null {
  const file = settingsFile ? ` (${settingsFile})` : "";
  switch (error.code) {
    case "auth_failed":
      return "Check Caps Lock. After repeated failures, ask your supervisor to reset your password.";
    case "server_unreachable":
      return "If you work remotely, check that the VPN is connected.";
    case "tls_required":
    case "tls_unavailable":
    case "tls_failed":
      return `Your administrator sets the TLS mode in the settings file${file}.`;
    case "unknown_database":
    case "settings_invalid":
      return `Correct the settings file${file}, then restart ClaimDesk.`;
    case "access_rejected":
      return "Your administrator must allow logins from this computer.";
    case "keychain_unavailable":
      return "Sign in to a desktop session that runs one (GNOME Keyring or KWallet on Linux, the Keychain on macOS, Credential Manager on Windows), or ask IT to enable it; then sign in again.";
    case "keychain_locked":
      return "Unlock it (your desktop password usually does), then sign in again.";
    case "keychain_failed":
      return "Ask IT to check the keychain; the log folder has the details.";
    case "registry_unreachable":
      return "The NPI Registry is on the internet: check this computer's connection, or try again later.";
    case "registry_malformed":
      return "The registry may be changing its API; try again later, and tell support if it persists.";
    case "cache_failed":
      return "Ask IT to check this computer's disk; the log folder has the details.";
    case "internal":
      return "Please report this to support with the time it happened.";
    default:
      return null;
  }
}

/**
 * Turns anything a command may reject with into a CommandError. Framework
 * failures (an `Error` thrown by the IPC layer) become `internal`.
 */
export function asCommandError(thrown: unknown): CommandError {
  if (thrown && typeof thrown === "object" && "code" in thrown && "message" in thrown) {
    return thrown as CommandError;
  }
  return { code: "internal", message: "ClaimDesk could not complete the request." };
}

/** A generated command's answer. */
export type CommandResult<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

let lockedListener: (() => void) | null = null;

/** Who hears that a command found the session locked (the app shell's session). */
export function onSessionLocked(listener: (() => void) | null): void {
  lockedListener = listener;
}

/**
 * Awaits a command: its data, or null after handing the error (a refusal,
 * or anything the IPC layer threw) to `onError` for the screen to show.
 */
export async function settle<T>(call: Promise<CommandResult<T>>, onError: (error: CommandError) => void): Promise<T | null> {
  try {
    const result = await call;
    if (result.status === "error") {
      if (result.error.code === "session_locked") lockedListener?.();
      onError(result.error);
      return null;
    }
    return result.data;
  } catch (thrown) {
    onError(asCommandError(thrown));
    return null;
  }
}
