/** Light, dark, or whatever the system prefers; remembered on this computer. */
export type ThemeChoice = "system" | "light" | "dark";

const KEY = "claimdesk.theme";
const ORDER: ThemeChoice[] = ["system", "light", "dark"];

/** The stored choice ("system" when none or unreadable). */
export function storedTheme(storage: Pick<Storage, "getItem"> = localStorage): ThemeChoice {
  const value = storage.getItem(KEY);
  return value === "light" || value === "dark" ? value : "system";
}

/** The theme a choice comes to, given whether the system prefers dark. */
export function resolve(choice: ThemeChoice, systemDark: boolean): "light" | "dark" {
  return choice === "system" ? (systemDark ? "dark" : "light") : choice;
}

/** The next choice when the toggle is pressed. */
export function nextChoice(choice: ThemeChoice): ThemeChoice {
  return ORDER[(ORDER.indexOf(choice) + 1) % ORDER.length];
}

/** Applies and stores a choice; follows the system while the choice is "system". */
export function applyTheme(choice: ThemeChoice): void {
  localStorage.setItem(KEY, choice);
  const media = window.matchMedia?.("(prefers-color-scheme: dark)");
  document.documentElement.dataset.theme = resolve(choice, media?.matches ?? false);
  if (media) media.onchange = () => (document.documentElement.dataset.theme = resolve(storedTheme(), media.matches));
}
