import { fieldError } from "../../../errors/index.js";
import type { Field } from "../../fields/index.js";
import {
  type FieldValues,
  fieldPattern,
  REQUIRED,
  runeLength,
  toText,
  type ValueContext,
} from "./value-kit.js";

/** PocketBase's limit for a text field whose `max` is 0. */
export const DEFAULT_TEXT_MAX = 5000;
/** PocketBase's limit for an editor field whose `maxSize` is 0 (5 MiB). */
export const DEFAULT_EDITOR_MAX_SIZE = 5 << 20;

const str = (v: unknown) => (typeof v === "string" ? v : "");

function checkText(value: string, field: Field, ctx: ValueContext) {
  if (field.primaryKey) {
    if (!ctx.isNew) {
      return value === ctx.previous
        ? null
        : fieldError("validation_pk_change", "The record primary key cannot be changed.");
    }
    for (const c of ["/", "\\"]) {
      if (value.includes(c)) {
        return fieldError(
          "validation_pk_forbidden",
          "The record primary key contains forbidden characters.",
          { forbidden: c },
        );
      }
    }
  }
  if ((field.required || field.primaryKey) && value === "") return REQUIRED;
  if (value === "") return null;
  const length = runeLength(value);
  const min = Number(field.min) || 0;
  if (min > 0 && length < min) {
    return fieldError("validation_min_text_constraint", `Must be at least ${min} character(s).`, { min });
  }
  const max = Number(field.max) || DEFAULT_TEXT_MAX;
  if (length > max) {
    return fieldError("validation_max_text_constraint", `Must be no more than ${max} character(s).`, { max });
  }
  const pattern = str(field.pattern);
  if (pattern && !fieldPattern(pattern)?.test(value)) {
    return fieldError("validation_invalid_format", "Invalid value format.");
  }
  return null;
}

/** Plain text (and the `id` primary key). */
export const textValues: FieldValues = {
  prepare: (raw) => toText(raw),
  validate: (value, field, ctx) => checkText(str(value), field, ctx),
  toDb: (value) => str(value),
};

/** Rich text (HTML), limited in bytes. */
export const editorValues: FieldValues = {
  prepare: (raw) => toText(raw),
  validate(value, field) {
    const v = str(value);
    if (field.required && v === "") return REQUIRED;
    const maxSize = Number(field.maxSize) || DEFAULT_EDITOR_MAX_SIZE;
    if (Buffer.byteLength(v) > maxSize) {
      return fieldError("validation_max_size_constraint", `Value must be less than ${maxSize} bytes.`, {
        maxSize,
      });
    }
    return null;
  },
  toDb: (value) => str(value),
};

const EMAIL_RE =
  /^[\w.!#$%&'*+/=?^`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

function domainAllowed(domain: string, field: Field): boolean {
  const only = (field.onlyDomains as string[] | null) ?? [];
  const except = (field.exceptDomains as string[] | null) ?? [];
  if (only.length && !only.includes(domain)) return false;
  if (except.length && except.includes(domain)) return false;
  return true;
}

/** True for an address PocketBase's e-mail format check accepts. */
export function isEmailFormat(value: string): boolean {
  return value.length <= 254 && EMAIL_RE.test(value);
}

/** An e-mail address, optionally limited to or excluding domains. */
export const emailValues: FieldValues = {
  prepare: (raw) => {
    const t = toText(raw);
    return typeof t === "string" ? t.trim() : t;
  },
  validate(value, field) {
    const v = str(value);
    if (field.required && v === "") return REQUIRED;
    if (v === "") return null;
    if (!isEmailFormat(v)) return fieldError("validation_is_email", "Must be a valid email address.");
    if (!domainAllowed(v.slice(v.lastIndexOf("@") + 1), field)) {
      return fieldError("validation_email_domain_not_allowed", "Email domain is not allowed.");
    }
    return null;
  },
  toDb: (value) => str(value),
};

function parseUrl(value: string): URL | null {
  if (/\s/.test(value)) return null;
  try {
    const u = new URL(value);
    return u.hostname && /^[a-z][a-z0-9+.-]*:$/i.test(u.protocol) ? u : null;
  } catch {
    return null;
  }
}

/** A URL, optionally limited to or excluding domains. */
export const urlValues: FieldValues = {
  prepare: (raw) => toText(raw),
  validate(value, field) {
    const v = str(value);
    if (field.required && v === "") return REQUIRED;
    if (v === "") return null;
    const u = parseUrl(v);
    if (!u) return fieldError("validation_invalid_url", "Must be a valid url.");
    if (!domainAllowed(u.host, field)) {
      return fieldError("validation_url_domain_not_allowed", "Url domain is not allowed.");
    }
    return null;
  },
  toDb: (value) => str(value),
};

/**
 * A password: the prepared value is the plain text (hashed by the records service before writing); the
 * stored value is the hash. Validation applies to a newly submitted plain value only.
 */
export const passwordValues: FieldValues = {
  prepare: (raw) => toText(raw),
  validate(value, field, ctx) {
    const plain = str(value);
    if (plain === "") return field.required && !ctx.previous ? REQUIRED : null;
    const length = runeLength(plain);
    const min = Number(field.min) || 0;
    if (length < min) {
      return fieldError("validation_min_text_constraint", `Must be at least ${min} character(s).`, { min });
    }
    const max = Number(field.max) > 0 ? Number(field.max) : 71;
    if (length > max) {
      return fieldError("validation_max_text_constraint", `Must be less than ${max} character(s).`, { max });
    }
    const pattern = str(field.pattern);
    if (pattern && !fieldPattern(pattern)?.test(plain)) {
      return fieldError("validation_invalid_format", "Invalid value format.");
    }
    return null;
  },
  toDb: (value) => str(value),
};
