import { FilterError, type RuleSchema, validateRule } from "../../rules/index.js";
import type { Collection } from "./model.js";

/** A schema view over a list of collections (by id, or name case-insensitively). */
export function schemaOf(all: readonly Collection[]): RuleSchema {
  return {
    get: (nameOrId) =>
      all.find((c) => c.id === nameOrId) ?? all.find((c) => c.name.toLowerCase() === nameOrId.toLowerCase()),
  };
}

/**
 * Checks a rule of a collection being saved against the schema as it will be after the change: it must parse
 * and name only known fields, relations and macros. Returns the reason it is invalid, or null.
 */
export function checkRule(collection: Collection, rule: string, all: readonly Collection[]): string | null {
  try {
    validateRule({ schema: schemaOf(all), collection, text: rule });
    return null;
  } catch (err) {
    if (err instanceof FilterError) return err.reason;
    throw err;
  }
}
