import { lazyImport } from "../util/index.js";

// file-type is loaded with the first upload, not at start-up (issue 19: memory)
const loadFileType = lazyImport("file-type", "file type detection", () => import("file-type"));

/** How many leading bytes the MIME sniffer reads. */
export const SNIFF_BYTES = 4100;

/** A sniffed type: the MIME type and the extension it suggests (with the dot, or empty). */
export interface Sniffed {
  readonly mime: string;
  readonly ext: string;
}

function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  // a multi-byte character cut at the end of the sample is fine
  const text = new TextDecoder("utf-8", { fatal: false }).decode(head.subarray(0, head.length - 3));
  return !text.includes("\uFFFD");
}

/** Markup and text types, which magic numbers do not tell apart (the active ones matter for serving). */
function sniffText(head: Buffer): Sniffed {
  if (!looksLikeText(head)) return { mime: "application/octet-stream", ext: "" };
  const text = head
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trimStart()
    .slice(0, 1024)
    .toLowerCase();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg[\s>]/.test(text)) {
    return { mime: "image/svg+xml", ext: ".svg" };
  }
  if (
    /^(<!--[\s\S]*?-->\s*)*(<!doctype html|<html|<head|<body|<script|<iframe|<h1|<div|<p[\s>]|<a[\s>]|<table|<style|<title|<br|<font|<b[\s>])/.test(
      text,
    )
  ) {
    return { mime: "text/html; charset=utf-8", ext: ".html" };
  }
  if (text.startsWith("<?xml")) return { mime: "text/xml; charset=utf-8", ext: ".xml" };
  if (/^[{[]/.test(text)) {
    try {
      JSON.parse(head.toString("utf8"));
      return { mime: "application/json", ext: ".json" };
    } catch {
      // not (complete) JSON: plain text
    }
  }
  return { mime: "text/plain; charset=utf-8", ext: ".txt" };
}

/** The type of a file from its first bytes (never from the client's claim). */
export async function sniffMime(head: Buffer): Promise<Sniffed> {
  if (head.length === 0) return { mime: "text/plain; charset=utf-8", ext: ".txt" };
  const found = await (await loadFileType()).fileTypeFromBuffer(head);
  if (found && found.mime !== "application/xml") return { mime: found.mime, ext: `.${found.ext}` };
  return sniffText(head);
}

/** The MIME type without parameters, lower-cased (`text/plain; charset=utf-8` → `text/plain`). */
export function baseMime(mime: string): string {
  return mime.split(";")[0].trim().toLowerCase();
}
