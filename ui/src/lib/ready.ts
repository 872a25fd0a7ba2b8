import { commands, type ReadyScreen } from "./bindings";

const told = new Set<ReadyScreen>();

/**
 * Tells the app a screen is on screen and can be used, once per run: after
 * the next frame is painted (the task after requestAnimationFrame). The app
 * logs the time since start; the start-up benchmark stops its clock there.
 */
export function reportReady(screen: ReadyScreen): void {
  if (told.has(screen)) return;
  told.add(screen);
  requestAnimationFrame(() => setTimeout(() => void commands.uiReady(screen).catch(() => undefined)));
}
