import type { SearchTerms } from "../../db/index.js";
import { badRequest } from "../../errors/index.js";

/** The longest `search=` text accepted, in characters. */
export const MAX_SEARCH_LENGTH = 256;
/** The most words one search may hold. */
export const MAX_SEARCH_WORDS = 16;
/** The shortest last word that also matches as a prefix (shorter prefixes match too much to be useful). */
export const MIN_PREFIX_LENGTH = 3;

// A word is a run of letters, digits and private-use characters: what SQLite's unicode61 tokenizer keeps.
const WORD = /[\p{L}\p{N}\p{Co}]+/gu;

/**
 * Turns a client's `search=` text into words (issue 18). Everything else (quotes, operators, `*`, `NEAR(`,
 * column filters) is a separator, so the engine's query syntax can never be reached: words are matched as
 * plain words, all of them required, case-insensitively. When the text does not end in a space, the last
 * word of MIN_PREFIX_LENGTH or more characters also matches as a prefix (search as you type). Too long a
 * text or too many words is a 400; text with no word at all yields no words (and matches nothing).
 */
export function parseSearch(text: string): SearchTerms {
  if (text.length > MAX_SEARCH_LENGTH)
    throw badRequest(`The search text is too long (at most ${MAX_SEARCH_LENGTH} characters).`);
  const words: string[] = [];
  const seen = new Set<string>();
  for (const match of text.normalize("NFC").matchAll(WORD)) {
    const word = match[0];
    const key = word.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    words.push(word);
  }
  if (words.length > MAX_SEARCH_WORDS)
    throw badRequest(`The search text has too many words (at most ${MAX_SEARCH_WORDS}).`);
  const last = words[words.length - 1];
  const endsInWord = new RegExp(`${escapeRegExp(last ?? "")}$`, "u").test(text.normalize("NFC"));
  return { words, prefixLast: !!last && endsInWord && [...last].length >= MIN_PREFIX_LENGTH };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
