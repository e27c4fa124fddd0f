import { randomString } from "../util/index.js";

const RANDOM_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const EXT_INVALID_RE = /[^\w.*\-+=#]+/g;

/** The extension of a name with a leading dot, double extensions included (`a.tar.gz` → `.tar.gz`). */
export function extractExtension(name: string): string {
  const primary = name.lastIndexOf(".");
  if (primary < 0) return "";
  const secondary = name.lastIndexOf(".", primary - 1);
  return name.slice(secondary >= 0 ? secondary : primary);
}

/** PocketBase's inflector.Snakecase: words split at non-word characters and at lower→upper case changes. */
export function snakeCase(text: string): string {
  const words = text.split(/[^A-Za-z0-9]+|_+/).filter(Boolean);
  const out: string[] = [];
  for (const word of words) {
    let w = "";
    for (let i = 0; i < word.length; i++) {
      const c = word[i];
      if (i > 0 && /[A-Z]/.test(c) && !/[A-Z]/.test(word[i - 1])) w += "_";
      w += c;
    }
    out.push(w);
  }
  return out.join("_").toLowerCase();
}

/**
 * The stored name of an uploaded file, PocketBase's way: the snake-cased base name (a random part added when
 * it is shorter than 3 characters, cut at 100), `_` and 10 random characters, then the cleaned extension
 * (or the one its sniffed type suggests). No path characters, no leading dot, never the client's exact name.
 *
 * @example normalizeFileName("My Photo.JPG") // "my_photo_k2x8d0q3zb.JPG"
 */
export function normalizeFileName(original: string, sniffedExt = ""): string {
  // a client-sent name may be a path: only its last segment counts, and very long names are cut first
  let name = original.split(/[/\\]/).pop() ?? "";
  if (name.length > 300) name = name.slice(name.length - 300);
  const originalExt = extractExtension(name);
  let ext = originalExt.replace(EXT_INVALID_RE, "");
  if (ext === "" || ext === ".") ext = sniffedExt;
  if (ext.length > 20) ext = `.${ext.slice(ext.length - 20)}`;
  let base = snakeCase(name.slice(0, name.length - originalExt.length));
  if (base.length < 3) base += randomString(10, RANDOM_ALPHABET);
  else if (base.length > 100) base = base.slice(0, 100);
  return `${base}_${randomString(10, RANDOM_ALPHABET)}${ext}`;
}

/** PocketBase's thumb size formats: `WxH` (centre crop), `WxHt` (top), `WxHb` (bottom), `WxHf` (fit), `0xH`, `Wx0`. */
export const THUMB_SIZE_RE = /^(\d{1,5})x(\d{1,5})(t|b|f)?$/;
