/** Short messages shown in the corner (errors and confirmations). */
export const toasts = $state({ list: [] });
let next = 1;

/** Shows a message for a few seconds; `kind` is "ok" or "error". */
export function toast(message, kind = "ok") {
  const id = next++;
  toasts.list.push({ id, message, kind });
  setTimeout(
    () => {
      toasts.list = toasts.list.filter((t) => t.id !== id);
    },
    kind === "error" ? 8000 : 3500,
  );
}
