import type { Field, FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** Checks the shared onlyDomains/exceptDomains options of email and url fields. */
export function validateDomainOptions(field: Field) {
  const e = new SettingsErrors();
  const only = (field.onlyDomains as string[] | null) ?? [];
  const except = (field.exceptDomains as string[] | null) ?? [];
  if (only.length && except.length) {
    e.add("onlyDomains", "validation_domains_conflict", "onlyDomains and exceptDomains cannot both be set.");
  }
  e.domains("onlyDomains", only);
  e.domains("exceptDomains", except);
  return e.result();
}

/** An e-mail address, optionally limited to or excluding domains. Stored as TEXT, default ''. */
export const emailField: FieldType = {
  type: "email",
  options: {
    exceptDomains: { kind: "stringsOrNull", default: null },
    onlyDomains: { kind: "stringsOrNull", default: null },
    required: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: () => "text",
  validateSettings: validateDomainOptions,
};
