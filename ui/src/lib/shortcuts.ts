/** Every keyboard shortcut, for the `?` overlay. Keep in step with the handlers. */
export const SHORTCUTS: ReadonlyArray<{ keys: string; does: string }> = [
  { keys: "N", does: "Get the next claim from the queue" },
  { keys: "↑ ↓ / J K", does: "Move between claims in the queue" },
  { keys: "PgUp PgDn Home End", does: "Jump through the queue" },
  { keys: "Enter", does: "Open the selected claim" },
  { keys: "Alt+1 … Alt+6", does: "Switch saved view (all, urgent, due soon, overdue, pended, flagged)" },
  { keys: "A L D P I", does: "Decide: approve, partial, deny, pend, request information" },
  { keys: "Ctrl+Enter", does: "Submit the decision" },
  { keys: "↑ ↓ Enter (in a code field)", does: "Move through the matching reason or remark codes; Enter takes one" },
  { keys: "J K / ↑ ↓ (in a claim)", does: "Move between the claim's lines" },
  { keys: "M", does: "Write a note on the open claim (Ctrl+Enter saves)" },
  { keys: "R", does: "Release the open claim back to the queue" },
  { keys: "Esc", does: "Back to the queue; close a dialog" },
  { keys: "?", does: "Show or hide this list" },
];
