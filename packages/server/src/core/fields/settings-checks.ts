import { type ErrorData, fieldError } from "../../errors/index.js";
import { compileLinearPattern } from "../../util/index.js";
import { MAX_SAFE_INT } from "./field.js";

/** Collects option errors by key; `result()` is null when there are none. */
export class SettingsErrors {
  private readonly data: ErrorData = {};

  add(key: string, code: string, message: string, params?: Record<string, unknown>): void {
    if (!this.data[key]) this.data[key] = fieldError(code, message, params);
  }

  /** Requires a whole number in [min, max]. */
  int(key: string, value: unknown, min = 0, max = MAX_SAFE_INT): void {
    const n = Number(value);
    if (!Number.isInteger(n)) this.add(key, "validation_invalid_int", "Must be a whole number.");
    else if (n < min)
      this.add(key, "validation_min_greater_equal_than_required", `Must be no less than ${min}.`, {
        threshold: min,
      });
    else if (n > max)
      this.add(key, "validation_max_less_equal_than_required", `Must be no greater than ${max}.`, {
        threshold: max,
      });
  }

  /** Requires a regular expression that compiles (empty is fine unless required). */
  regex(key: string, value: unknown, required = false): void {
    const text = String(value ?? "");
    if (!text) {
      if (required) this.add(key, "validation_required", "Cannot be blank.");
      return;
    }
    try {
      new RegExp(text, "u");
    } catch {
      this.add(key, "validation_invalid_regex", "Invalid regular expression.");
    }
  }

  /**
   * Requires a pattern that values are matched against: RE2 syntax, which matches in linear time (no
   * look-arounds or back-references), as PocketBase's Go patterns (issue 10).
   */
  linearRegex(key: string, value: unknown, required = false): void {
    const text = String(value ?? "");
    if (!text) {
      if (required) this.add(key, "validation_required", "Cannot be blank.");
      return;
    }
    try {
      compileLinearPattern(text);
    } catch {
      this.add(
        key,
        "validation_invalid_regex",
        "Invalid regular expression: patterns use RE2 syntax (no look-arounds or back-references).",
      );
    }
  }

  /** Requires a list of domain names. */
  domains(key: string, value: unknown): void {
    const list = (value as string[] | null) ?? [];
    list.forEach((d, i) => {
      if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(d)) {
        this.add(key, "validation_invalid_domain", `Invalid domain "${String(d).slice(0, 100)}".`, {
          index: i,
        });
      }
    });
  }

  result(): ErrorData | null {
    return Object.keys(this.data).length ? this.data : null;
  }
}
