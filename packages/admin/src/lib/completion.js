const MODIFIERS = [":isset", ":changed", ":length", ":each", ":lower"];
const MACROS = [
  "@now",
  "@second",
  "@minute",
  "@hour",
  "@weekday",
  "@day",
  "@month",
  "@year",
  "@yesterday",
  "@tomorrow",
  "@todayStart",
  "@todayEnd",
  "@monthStart",
  "@monthEnd",
  "@yearStart",
  "@yearEnd",
];
const REQUEST = [
  "@request.auth.",
  "@request.body.",
  "@request.query.",
  "@request.headers.",
  "@request.method",
  "@request.context",
];

/** Field names of a collection, by id or name, from a list of collections. */
function fieldsOf(all, idOrName) {
  const c = all.find((x) => x.id === idOrName || x.name === idOrName);
  return c ? c.fields : [];
}

/**
 * Follows a dotted path (`author.team.`) through relation fields and returns the fields at its end, or
 * null when a segment is not a relation.
 */
function walk(all, fields, segments) {
  let current = fields;
  for (const seg of segments) {
    const f = current.find((x) => x.name === seg.replace(/_via_.*$/, ""));
    const back = /^(\w+)_via_(\w+)$/.exec(seg);
    if (back) {
      current = fieldsOf(all, back[1]);
      continue;
    }
    if (f?.type !== "relation") return null;
    current = fieldsOf(all, f.collectionId);
  }
  return current;
}

/**
 * Suggestions for the identifier being typed at `caret` in a rule or filter: fields (through relations),
 * `@request.*`, `@collection.*`, date macros and `:modifiers`. `mode` "filter" leaves `@request`/`@collection`
 * out (clients may not use them in a filter).
 * Returns `{from, items}` where `from` is where the replaced text starts.
 */
export function suggest(text, caret, { collection, all, mode = "rule" }) {
  const before = text.slice(0, caret);
  const m = /[@\w.:]*$/.exec(before);
  const word = m ? m[0] : "";
  const from = caret - word.length;
  const own = collection?.fields ?? [];
  const authCollections = all.filter((c) => c.type === "auth");
  let candidates = [];
  const colon = word.lastIndexOf(":");
  if (colon > 0) {
    const prefix = word.slice(0, colon);
    candidates = MODIFIERS.map((mod) => prefix + mod);
  } else if (word.startsWith("@request.auth.")) {
    const rest = word.slice("@request.auth.".length).split(".");
    const names = new Set(["id", "collectionId", "collectionName"]);
    const base = rest.slice(0, -1);
    if (base.length === 0) for (const c of authCollections) for (const f of c.fields) names.add(f.name);
    else for (const c of authCollections) for (const f of walk(all, c.fields, base) ?? []) names.add(f.name);
    candidates = [...names].map((n) => `@request.auth.${base.map((b) => `${b}.`).join("")}${n}`);
  } else if (word.startsWith("@request.body.")) {
    candidates = own.filter((f) => !f.system || f.name !== "id").map((f) => `@request.body.${f.name}`);
  } else if (word.startsWith("@collection.")) {
    const parts = word.slice("@collection.".length).split(".");
    if (parts.length === 1) candidates = all.map((c) => `@collection.${c.name}.`);
    else {
      const fields = walk(all, fieldsOf(all, parts[0]), parts.slice(1, -1)) ?? [];
      candidates = fields.map((f) => `@collection.${parts.slice(0, -1).join(".")}.${f.name}`);
    }
  } else if (word.startsWith("@")) {
    candidates = [...(mode === "rule" ? [...REQUEST, "@collection."] : []), ...MACROS];
  } else {
    const parts = word.split(".");
    const fields = walk(all, own, parts.slice(0, -1)) ?? [];
    const prefix = parts
      .slice(0, -1)
      .map((p) => `${p}.`)
      .join("");
    candidates = fields.map((f) => prefix + f.name);
    if (parts.length === 1) {
      for (const c of all)
        for (const f of c.fields) {
          if (f.type === "relation" && f.collectionId === collection?.id)
            candidates.push(`${c.name}_via_${f.name}`);
        }
    }
  }
  const lower = word.toLowerCase();
  const items = candidates.filter((c) => c.toLowerCase().startsWith(lower) && c !== word).slice(0, 50);
  return { from, items };
}
