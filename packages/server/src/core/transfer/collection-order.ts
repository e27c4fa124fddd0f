import type { Collection } from "../collections/index.js";

/**
 * Collections in the order an empty database can take them: a collection after the ones its relations
 * point to (a cycle, such as a self-relation, is kept in creation order), and views after every table.
 */
export function dependencyOrder(collections: readonly Collection[]): Collection[] {
  const tables = collections.filter((c) => c.type !== "view");
  const views = collections.filter((c) => c.type === "view");
  const byId = new Map(tables.map((c) => [c.id, c]));
  const out: Collection[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (c: Collection) => {
    if (state.has(c.id)) return; // done, or a cycle: its creation order decides
    state.set(c.id, "visiting");
    for (const f of c.fields) {
      const target = f.type === "relation" ? byId.get(String(f.collectionId ?? "")) : undefined;
      if (target && target.id !== c.id) visit(target);
    }
    state.set(c.id, "done");
    out.push(c);
  };
  for (const c of tables) visit(c);
  return [...out, ...views];
}
