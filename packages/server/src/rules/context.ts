import type { Dialect, SqlValue } from "../db/index.js";
import { FilterError } from "./errors.js";
import type { RequestInfo } from "./request.js";
import type { RuleCollection, RuleSchema } from "./schema.js";

/** The static type of a compiled operand. */
export type ValueType = "text" | "number" | "bool" | "json" | "null";

/** What a bound parameter is computed from at call time. */
export interface BindContext {
  readonly request: RequestInfo;
  readonly now: Date;
}

/** Computes one bound parameter from the request at call time. */
export type Slot = (ctx: BindContext) => SqlValue;

/** A multi-match subquery source: `FROM … WHERE mm.id = base.id`, and the operand as seen inside it. */
export interface MultiMatch {
  readonly from: string;
  readonly value: Val;
}

/** A compiled operand: SQL text with parameter markers, plus what the comparison builder needs to know. */
export interface Val {
  readonly sql: string;
  readonly type: ValueType;
  /** A real column (SQLite applies its affinity in comparisons). */
  readonly column: boolean;
  /** Statically NULL or "" (PocketBase folds the two). */
  readonly empty: boolean;
  /** Statically a non-empty value (a literal or request value). */
  readonly nonEmpty: boolean;
  /** JSON values compare with IS / IS NOT, without null/"" folding. */
  readonly noCoalesce: boolean;
  /** Index of the single parameter slot this operand is (LIKE wrapping and value conversions use it). */
  readonly slot?: number;
  /** For JSON operands: the column and path, so the value can be re-read as another type. */
  readonly json?: { readonly expr: string; readonly path: readonly (string | number)[] };
  /** Set when several related values exist; a plain operator then requires all of them to match. */
  readonly multi?: MultiMatch;
  /** An extra condition the comparison must also meet (auth e-mail visibility for non-superusers). */
  readonly guard?: string;
  /** Set when resolving the operand joined a table that can multiply rows. */
  readonly fansOut?: boolean;
}

const MARK_OPEN = "\u0001";
const MARK_CLOSE = "\u0002";

/** A recorded look at the request that the compiled SQL depends on (its value class). */
export interface Probe {
  readonly key: string;
  readonly cls: string;
  readonly read: (request: RequestInfo) => string;
}

/** State shared by everything compiled for one filter, sort or rule text (and the list rules it pulls in). */
export class Compiler {
  readonly slots: Slot[] = [];
  readonly probes: Probe[] = [];
  /** The most multi-valued relation hops (back-relations, multiple relations) one path took. */
  maxFanout = 0;
  private readonly probeKeys = new Set<string>();
  private aliasCount = 0;

  constructor(
    readonly dialect: Dialect,
    readonly schema: RuleSchema,
    readonly request: RequestInfo,
    private readonly aliasPrefix: string,
  ) {}

  /** Compiles a collection's rule text into `scope` (set by the expression compiler; used for list-rule hops). */
  nested: (scope: Scope, text: string) => string = () => {
    throw new FilterError("nested rules are not available");
  };

  /** A fresh table alias, unique within this compile and distinct from other compiles' aliases. */
  alias(): string {
    this.aliasCount += 1;
    return `${this.aliasPrefix}${this.aliasCount}`;
  }

  /** Quotes an identifier. */
  q(name: string): string {
    return this.dialect.quoteIdent(name);
  }

  /** Registers a parameter slot and returns its typed placeholder (with the marker standing in for `?`). */
  param(type: Exclude<ValueType, "null">, slot: Slot): { sql: string; slot: number } {
    this.slots.push(slot);
    const index = this.slots.length - 1;
    return { sql: this.placeholder(type, index), slot: index };
  }

  /** The typed placeholder for an existing slot. */
  placeholder(type: Exclude<ValueType, "null">, index: number): string {
    return this.dialect.typedParam(type).replace("?", `${MARK_OPEN}${index}${MARK_CLOSE}`);
  }

  /** Records that the SQL depends on the class of a request value; returns the class for this request. */
  probe(key: string, read: (request: RequestInfo) => string): string {
    const cls = read(this.request);
    if (!this.probeKeys.has(key)) {
      this.probeKeys.add(key);
      this.probes.push({ key, cls, read });
    }
    return cls;
  }

  /** The most tables joined in one subquery (multi-match and list-rule subqueries). */
  maxSubqueryJoins = 0;

  /** Notes a subquery's join fragments. */
  noteJoins(fragments: readonly string[]): void {
    const n = countJoins(fragments);
    if (n > this.maxSubqueryJoins) this.maxSubqueryJoins = n;
  }

  /** Notes that a path has taken `hops` multi-valued relation hops. */
  noteFanout(hops: number): void {
    if (hops > this.maxFanout) this.maxFanout = hops;
  }

  /** Throws the 400 for an unusable filter. */
  fail(reason: string): never {
    throw new FilterError(reason);
  }
}

/** Counts the joins in SQL fragments. */
export function countJoins(fragments: Iterable<string>): number {
  let n = 0;
  for (const sql of fragments) {
    let at = sql.indexOf(" JOIN ");
    while (at >= 0) {
      n++;
      at = sql.indexOf(" JOIN ", at + 6);
    }
  }
  return n;
}

/** SQL with `?` placeholders and, per placeholder, the slot index that supplies its value. */
export interface SlotSql {
  readonly sql: string;
  readonly slots: readonly number[];
}

/** Replaces parameter markers by `?`, recording slot indexes in textual order. */
export function finalizeSql(sql: string): SlotSql {
  const slots: number[] = [];
  let out = "";
  let from = 0;
  for (;;) {
    const open = sql.indexOf(MARK_OPEN, from);
    if (open < 0) break;
    const close = sql.indexOf(MARK_CLOSE, open);
    slots.push(Number(sql.slice(open + 1, close)));
    out += `${sql.slice(from, open)}?`;
    from = close + 1;
  }
  return { sql: out + sql.slice(from), slots };
}

/** True when compiled SQL still holds parameter markers. */
export function hasParams(sql: string): boolean {
  return sql.includes(MARK_OPEN);
}

/** Evaluates the slots of a finalized fragment for one request. */
export function bindSlots(sql: SlotSql, slots: readonly Slot[], ctx: BindContext): SqlValue[] {
  return sql.slots.map((i) => slots[i](ctx));
}

/** Per-collection compile scope: the base table alias and the joins registered on it. */
export class Scope {
  readonly joins = new Map<string, string>();
  /** Aliases already given to logical join paths, so two references to one path share the joined row. */
  readonly aliases = new Map<string, string>();
  fansOut = false;

  constructor(
    readonly collection: RuleCollection,
    readonly alias: string,
    /** Client filter/sort of a non-superuser: hidden fields refused, each relation hop needs list access. */
    readonly restricted: boolean,
  ) {}

  /** Adds a join under a logical key once; returns whether it was new. */
  addJoin(key: string, sql: string): boolean {
    if (this.joins.has(key)) return false;
    this.joins.set(key, sql);
    return true;
  }
}
