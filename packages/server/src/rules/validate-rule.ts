import { sqliteDialect } from "../db/index.js";
import { compileExpr, parseCached } from "./compile-filter.js";
import { Compiler, Scope } from "./context.js";
import { FilterError } from "./errors.js";
import { parseFilter } from "./parser.js";
import { EMPTY_REQUEST } from "./request.js";
import type { RuleCollection, RuleSchema } from "./schema.js";

/** Options of validateRule. */
export interface ValidateRuleOptions {
  readonly schema: RuleSchema;
  /** The collection as it is being saved (its new fields). */
  readonly collection: RuleCollection;
  readonly text: string | null | undefined;
  /** The rule's key in the error data (`listRule`, `viewRule`, …). */
  readonly ruleName?: string;
}

/**
 * Checks a rule when a collection is saved: it must parse and name only known fields, relations and
 * macros. `@request.*` values are not known then and resolve to null, as in PocketBase. Throws FilterError
 * (400) with `data[ruleName] = {code: "validation_invalid_rule", message}`.
 */
export function validateRule(opts: ValidateRuleOptions): void {
  if (opts.text === null || opts.text === undefined || opts.text === "") return;
  const text = opts.text;
  try {
    parseFilter(text);
    const c = new Compiler(sqliteDialect, opts.schema, EMPTY_REQUEST, "_v");
    c.nested = (scope, nested) => compileExpr(c, scope, parseCached(nested));
    compileExpr(c, new Scope(opts.collection, opts.collection.name, false), parseFilter(text));
  } catch (err) {
    const reason = err instanceof FilterError ? err.reason : "invalid rule";
    throw new FilterError(reason, {
      [opts.ruleName ?? "rule"]: {
        code: "validation_invalid_rule",
        message: `Invalid rule. Raw error: ${reason}`,
      },
    });
  }
}
