import { badRequest } from "../../errors/index.js";
import { htmlToText } from "../../util/index.js";

/** Changes a picked value (PocketBase's `:modifier(args)`). */
export type PickModifier = (value: unknown) => unknown;

/** A parsed `fields` parameter: each dotted path with its optional modifier. */
export type FieldsSpec = ReadonlyMap<string, PickModifier | null>;

/** `excerpt(max, withEllipsis?)`: a plain-text excerpt of at most `max` characters; other values pass through. */
function excerpt(args: string[]): PickModifier {
  if (args.length === 0) throw new Error("max argument is required - expected (max, withEllipsis?)");
  if (args.length > 2) throw new Error("too many arguments - expected (max, withEllipsis?)");
  const max = Number.parseInt(args[0], 10);
  if (!Number.isFinite(max) || max <= 0) throw new Error("max argument must be > 0");
  const ellipsis = /^(1|t|true)$/i.test(args[1]?.trim() ?? "");
  return (value) => {
    if (typeof value !== "string") return value;
    // the first max code points are all it keeps: stop once more than that many are known
    const text = htmlToText(value, 2 * max + 2);
    const chars = [...text];
    if (chars.length <= max) return text;
    return chars.slice(0, max).join("").trim() + (ellipsis ? "..." : "");
  };
}

function splitTopLevel(raw: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of raw) {
    if (ch === "(") depth++;
    else if (ch === ")") depth = Math.max(0, depth - 1);
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

/** Parses a `fields` parameter; an unknown or malformed modifier is a 400. */
export function parseFields(raw: string): FieldsSpec {
  const spec = new Map<string, PickModifier | null>();
  for (const item of splitTopLevel(raw)) {
    const i = item.indexOf(":");
    if (i < 0) {
      spec.set(item, null);
      continue;
    }
    const m = /^(\w+)\((.*)\)$/s.exec(item.slice(i + 1).trim());
    if (m?.[1] !== "excerpt") throw badRequest("Invalid fields modifier.");
    try {
      spec.set(item.slice(0, i), excerpt(m[2].split(",").map((a) => a.trim())));
    } catch (err) {
      throw badRequest("Invalid fields modifier.", {}, err);
    }
  }
  return spec;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A `fields` spec as a tree of path segments, built once per spec so picking costs O(output). */
interface PickNode {
  /** Keep this key whole (with the modifier, if any). */
  whole: boolean;
  modifier: PickModifier | null;
  children: Map<string, PickNode>;
}

const trees = new WeakMap<FieldsSpec, PickNode>();

function newNode(): PickNode {
  return { whole: false, modifier: null, children: new Map() };
}

function treeOf(spec: FieldsSpec): PickNode {
  let root = trees.get(spec);
  if (root) return root;
  root = newNode();
  for (const [path, modifier] of spec) {
    let node = root;
    for (const part of path.split(".")) {
      let next = node.children.get(part);
      if (!next) {
        next = newNode();
        node.children.set(part, next);
      }
      node = next;
    }
    node.whole = true;
    node.modifier = modifier;
  }
  trees.set(spec, root);
  return root;
}

/** Returns a copy of `value` keeping only the picked paths (PocketBase's picker; `*` keeps a level whole). */
export function pickFields(value: unknown, spec: FieldsSpec): unknown {
  if (spec.size === 0) return value;
  return pickValue(value, treeOf(spec));
}

function pickValue(value: unknown, node: PickNode): unknown {
  if (Array.isArray(value)) return value.map((v) => (isObject(v) ? pickObject(v, node) : v));
  return isObject(value) ? pickObject(value, node) : value;
}

function pickObject(obj: Record<string, unknown>, node: PickNode): Record<string, unknown> {
  const star = node.children.get("*");
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const child = node.children.get(k);
    if (!child) {
      if (star?.whole) out[k] = star.modifier ? star.modifier(obj[k]) : obj[k];
      continue;
    }
    if (child.whole) out[k] = child.modifier ? child.modifier(obj[k]) : obj[k];
    else if (child.children.size) out[k] = pickValue(obj[k], child);
  }
  return out;
}
