const KEY = "basalt_theme";

/** Applies the stored theme ("light", "dark" or the system's). */
export function applyTheme(theme = localStorage.getItem(KEY) || "system") {
  const dark = theme === "dark" || (theme === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  return theme;
}

/** Stores and applies a theme. */
export function setTheme(theme) {
  localStorage.setItem(KEY, theme);
  return applyTheme(theme);
}
