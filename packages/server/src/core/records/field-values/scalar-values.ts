import { fieldError } from "../../../errors/index.js";
import { formatDateTime, parseDateTime } from "../../../util/index.js";
import { BadValue, type FieldValues, invalidValue, REQUIRED } from "./value-kit.js";

const NOT_A_NUMBER = () =>
  new BadValue(fieldError("validation_not_a_number", "The submitted number is not properly formatted."));

function toNumber(raw: unknown): number | BadValue {
  if (raw === null || raw === undefined || raw === "") return 0;
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : NOT_A_NUMBER();
  if (typeof raw === "boolean") return raw ? 1 : 0;
  if (typeof raw === "string" && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw)) {
    const n = Number(raw);
    return Number.isFinite(n) ? n : NOT_A_NUMBER();
  }
  return NOT_A_NUMBER();
}

/** Go's `%f`: six decimals, as PocketBase prints number bounds. */
function goFloat(n: number): string {
  return n.toFixed(6);
}

/** A number; `field+` adds and `field-` subtracts. */
export const numberValues: FieldValues = {
  prepare: (raw) => toNumber(raw),
  modify(current, modifier, raw) {
    const delta = toNumber(raw);
    if (delta instanceof BadValue) return delta;
    const base = typeof current === "number" ? current : 0;
    if (modifier === "append") return base + delta;
    if (modifier === "subtract") return base - delta;
    return undefined;
  },
  validate(value, field) {
    const n = value as number;
    if (!Number.isFinite(n)) return NOT_A_NUMBER().error;
    if (n === 0) return field.required ? REQUIRED : null;
    if (field.onlyInt && !Number.isInteger(n)) {
      return fieldError("validation_only_int_constraint", "Decimal numbers are not allowed.");
    }
    if (typeof field.min === "number" && n < field.min) {
      return fieldError("validation_min_number_constraint", `Must be larger than ${goFloat(field.min)}.`);
    }
    if (typeof field.max === "number" && n > field.max) {
      return fieldError("validation_max_number_constraint", `Must be less than ${goFloat(field.max)}.`);
    }
    return null;
  },
  toDb: (value) => value as number,
};

/** A boolean; `required` means it must be true. */
export const boolValues: FieldValues = {
  prepare(raw) {
    if (typeof raw === "boolean") return raw;
    if (raw === null || raw === undefined || raw === "" || raw === 0 || raw === "0") return false;
    if (raw === 1 || raw === "1") return true;
    if (typeof raw === "string" && /^(true|false)$/i.test(raw)) return raw.toLowerCase() === "true";
    return invalidValue();
  },
  validate: (value, field) => (field.required && value !== true ? REQUIRED : null),
  toDb: (value) => value === true,
};

/** Normalises a submitted datetime into PocketBase's `2006-01-02 15:04:05.000Z` form ("" for none). */
export function toDateText(raw: unknown): string | BadValue {
  if (raw === null || raw === undefined || raw === "") return "";
  if (typeof raw === "number" && Number.isFinite(raw)) return formatDateTime(new Date(raw * 1000));
  if (typeof raw === "string") {
    const d = parseDateTime(raw);
    if (d && !Number.isNaN(d.getTime())) return formatDateTime(d);
  }
  return new BadValue(fieldError("validation_invalid_date", "Must be a valid date."));
}

/** A datetime, optionally bounded by `min` and `max`. */
export const dateValues: FieldValues = {
  prepare: (raw) => toDateText(raw),
  validate(value, field) {
    const v = value as string;
    if (v === "") return field.required ? REQUIRED : null;
    const min = field.min ? toDateText(field.min) : "";
    const max = field.max ? toDateText(field.max) : "";
    if (typeof min === "string" && min && v < min) {
      return fieldError("validation_min_greater_equal_than_required", `Must be no less than ${min}.`, {
        threshold: min,
      });
    }
    if (typeof max === "string" && max && v > max) {
      return fieldError("validation_max_less_equal_than_required", `Must be no greater than ${max}.`, {
        threshold: max,
      });
    }
    return null;
  },
  toDb: (value) => value as string,
};

/** A server-set datetime: submitted values are ignored by the records service, so nothing to check. */
export const autodateValues: FieldValues = {
  prepare: (raw) => (typeof raw === "string" ? raw : ""),
  validate: () => null,
  toDb: (value) => value as string,
};

/** PocketBase's limit for a JSON field whose `maxSize` is 0 (1 MiB). */
export const DEFAULT_JSON_MAX_SIZE = 1 << 20;
const EMPTY_JSON = new Set(["null", '""', "[]", "{}", ""]);

/** Any JSON value; plain strings that hold JSON (numbers, arrays, objects, true/false/null) are parsed. */
export const jsonValues: FieldValues = {
  prepare(raw) {
    if (raw === undefined) return null;
    if (typeof raw !== "string") return raw;
    if (raw === "null") return null;
    if (raw === "true" || raw === "false") return raw === "true";
    if (/^[-0-9"[{]/.test(raw)) {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return raw;
      }
    }
    return raw;
  },
  validate(value, field) {
    let text: string;
    try {
      text = JSON.stringify(value ?? null);
    } catch {
      // nesting deep enough to exhaust the stack (or a value JSON cannot hold): bad input, not a server error
      return fieldError("validation_invalid_json", "Must be a valid json value.");
    }
    const maxSize = Number(field.maxSize) || DEFAULT_JSON_MAX_SIZE;
    if (Buffer.byteLength(text) > maxSize) {
      return fieldError("validation_json_size_limit", `The maximum allowed JSON size is ${maxSize} bytes.`, {
        maxSize,
      });
    }
    if (field.required && EMPTY_JSON.has(text)) return REQUIRED;
    return null;
  },
  toDb: (value) => (value === null || value === undefined ? null : JSON.stringify(value)),
};

/** A `{lon, lat}` pair. */
export const geoPointValues: FieldValues = {
  prepare(raw) {
    if (raw === null || raw === undefined || raw === "") return { lon: 0, lat: 0 };
    let v: unknown = raw;
    if (typeof v === "string") {
      try {
        v = JSON.parse(v) as unknown;
      } catch {
        return invalidValue();
      }
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) return invalidValue();
    const o = v as Record<string, unknown>;
    const lon = o.lon ?? 0;
    const lat = o.lat ?? 0;
    if (typeof lon !== "number" || typeof lat !== "number") return invalidValue();
    return { lon, lat };
  },
  validate(value, field) {
    const p = value as { lon: number; lat: number };
    if (p.lon === 0 && p.lat === 0) return field.required ? REQUIRED : null;
    if (p.lon < -180 || p.lon > 180) {
      return fieldError("validation_invalid_geo_point_lon", "Longitude must be between -180 and 180.");
    }
    if (p.lat < -90 || p.lat > 90) {
      return fieldError("validation_invalid_geo_point_lat", "Latitude must be between -90 and 90.");
    }
    return null;
  },
  toDb: (value) => JSON.stringify(value),
};
