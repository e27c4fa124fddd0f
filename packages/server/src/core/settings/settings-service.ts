import { Cron } from "croner";
import type { Database } from "../../db/index.js";
import { badRequest, type ErrorData, fieldError } from "../../errors/index.js";
import { isPlainObject, nowDateTime } from "../../util/index.js";
import { PARAMS_TABLE } from "../collections/index.js";
import type { SecretBox } from "../secrets/index.js";
import { ipBlock, isIpOrSubnetList, parseRateLimitRules, type RateLimitRule } from "./rate-limit-rules.js";

export type { RateLimitRule } from "./rate-limit-rules.js";

/** The application settings in PocketBase's `/api/settings` shape (the parts Basalt uses so far). */
export interface Settings {
  meta: { appName: string; appURL: string; senderName: string; senderAddress: string; hideControls: boolean };
  batch: { enabled: boolean; maxRequests: number; timeout: number; maxBodySize: number };
  rateLimits: { rules: RateLimitRule[]; excludedIPs: string[]; enabled: boolean };
  trustedProxy: { headers: string[]; useLeftmostIP: boolean };
  /**
   * PocketBase's superuser allowlist: IP addresses and CIDR subnets (IPv4 or IPv6) superusers may act from;
   * empty allows every address.
   */
  superuserIPs: string[];
  logs: { maxDays: number; minLevel: number; logIP: boolean; logAuthId: boolean };
  smtp: {
    enabled: boolean;
    host: string;
    port: number;
    username: string;
    password: string;
    /** `PLAIN` (default) or `LOGIN`. */
    authMethod: string;
    /** Implicit TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
    tls: boolean;
    /** The name sent in EHLO; the machine's host name when empty. */
    localName: string;
  };
  /** S3-compatible storage for record files (the data folder's `storage/` when disabled). */
  s3: S3Settings;
  /**
   * Backups (PocketBase's shape): `cron` schedules automatic backups (empty: none), `cronMaxKeep` how many
   * of them are kept, `s3` where backups are stored (the data folder's `backups/` when disabled).
   */
  backups: { cron: string; cronMaxKeep: number; s3: S3Settings };
}

/** An S3-compatible bucket's settings (for record files, or for backups). */
export interface S3Settings {
  enabled: boolean;
  bucket: string;
  region: string;
  endpoint: string;
  accessKey: string;
  secret: string;
  forcePathStyle: boolean;
}

function noS3(): S3Settings {
  return {
    enabled: false,
    bucket: "",
    region: "",
    endpoint: "",
    accessKey: "",
    secret: "",
    forcePathStyle: false,
  };
}

/** The settings of a new installation (PocketBase's defaults; batch requests off). */
export function defaultSettings(appName: string, appURL: string): Settings {
  return {
    meta: {
      appName,
      appURL,
      senderName: "Support",
      senderAddress: "support@example.com",
      hideControls: false,
    },
    batch: { enabled: false, maxRequests: 50, timeout: 3, maxBodySize: 0 },
    rateLimits: {
      rules: [
        { label: "*:auth", audience: "", duration: 3, maxRequests: 2 },
        { label: "*:create", audience: "", duration: 5, maxRequests: 20 },
        { label: "/api/batch", audience: "", duration: 1, maxRequests: 3 },
        { label: "/api/", audience: "", duration: 10, maxRequests: 300 },
      ],
      excludedIPs: [],
      enabled: false,
    },
    trustedProxy: { headers: [], useLeftmostIP: false },
    superuserIPs: [],
    logs: { maxDays: 5, minLevel: 0, logIP: true, logAuthId: false },
    smtp: {
      enabled: false,
      host: "smtp.example.com",
      port: 587,
      username: "",
      password: "",
      authMethod: "",
      tls: false,
      localName: "",
    },
    s3: noS3(),
    backups: { cron: "", cronMaxKeep: 3, s3: noS3() },
  };
}

const SETTINGS_ID = "settings";

/**
 * Where the settings hold secrets: sealed at rest when an encryption key is set (issue 18). A path the stored
 * settings lack (`backups` before backups to S3 existed) is skipped.
 */
export const SETTINGS_SECRET_PATHS: readonly (readonly string[])[] = [
  ["smtp", "password"],
  ["s3", "secret"],
  ["backups", "s3", "secret"],
];

/** Replaces each secret of a settings object (in place) by `fn` of it; returns whether any changed. */
export function mapSettingsSecrets(settings: unknown, fn: (value: string) => string): boolean {
  let changed = false;
  for (const path of SETTINGS_SECRET_PATHS) {
    let node: unknown = settings;
    for (const key of path.slice(0, -1)) node = isPlainObject(node) ? node[key] : undefined;
    const last = path[path.length - 1];
    if (!isPlainObject(node) || typeof node[last] !== "string") continue;
    const next = fn(node[last]);
    if (next !== node[last]) changed = true;
    node[last] = next;
  }
  return changed;
}

type Kind = "string" | "bool" | "int" | "level" | "strings";
const S3_SCHEMA: Record<keyof S3Settings, Kind> = {
  enabled: "bool",
  bucket: "string",
  region: "string",
  endpoint: "string",
  accessKey: "string",
  secret: "string",
  forcePathStyle: "bool",
};

const SCHEMA: { [S in Exclude<keyof Settings, "superuserIPs" | "backups">]: Record<string, Kind> } = {
  meta: {
    appName: "string",
    appURL: "string",
    senderName: "string",
    senderAddress: "string",
    hideControls: "bool",
  },
  batch: { enabled: "bool", maxRequests: "int", timeout: "int", maxBodySize: "int" },
  rateLimits: { enabled: "bool" },
  trustedProxy: { headers: "strings", useLeftmostIP: "bool" },
  logs: { maxDays: "int", minLevel: "level", logIP: "bool", logAuthId: "bool" },
  smtp: {
    enabled: "bool",
    host: "string",
    port: "int",
    username: "string",
    password: "string",
    authMethod: "string",
    tls: "bool",
    localName: "string",
  },
  s3: S3_SCHEMA,
};

function checkKind(kind: Kind, v: unknown): boolean {
  if (kind === "string") return typeof v === "string" && v.length <= 1000;
  if (kind === "bool") return typeof v === "boolean";
  // a log level: slog's debug -4, info 0, warn 4, error 8, or anything between -100 and 100
  if (kind === "level") return typeof v === "number" && Number.isInteger(v) && v >= -100 && v <= 100;
  if (kind === "int")
    return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
  return Array.isArray(v) && v.length <= 100 && v.every((s) => typeof s === "string" && s.length <= 200);
}

/** Owns the settings: cached in memory, persisted as JSON in `_params` (id `settings`). */
export class SettingsService {
  private current: Settings;
  private listeners: (() => void | Promise<void>)[] = [];
  private appliedListeners: (() => void | Promise<void>)[] = [];

  constructor(
    private readonly db: Database,
    defaults: Settings,
    /** Seals the secrets written and opens those read (stored as given when omitted). */
    private readonly secrets?: SecretBox,
  ) {
    this.current = defaults;
  }

  /** Loads the stored settings over the defaults. */
  async init(): Promise<void> {
    const t = this.db.dialect.quoteIdent;
    const row = await this.db.get<{ value: string | null }>(
      `SELECT ${t("value")} FROM ${t(PARAMS_TABLE)} WHERE ${t("id")} = ?`,
      [SETTINGS_ID],
    );
    if (!row?.value) return;
    const stored = (typeof row.value === "string" ? JSON.parse(row.value) : row.value) as unknown;
    const box = this.secrets;
    if (box) mapSettingsSecrets(stored, (v) => box.open(v));
    this.current = this.merged(stored, false);
  }

  /** Re-reads the stored settings (another instance changed them). */
  async reload(): Promise<void> {
    await this.init();
    await Promise.all(this.appliedListeners.map((l) => l()));
  }

  /** Registers a listener called whenever new settings take effect here: an update, or another instance's. */
  onApplied(listener: () => void | Promise<void>): void {
    this.appliedListeners.push(listener);
  }

  /** Registers a listener called after every committed update; the update's answer waits for its promise. */
  onChange(listener: () => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  /** The current settings (a copy), secrets included: for the server's own use. */
  get(): Settings {
    return structuredClone(this.current);
  }

  /** The settings as the API shows them: the SMTP password is never sent back. */
  publicView(): Settings {
    const copy = this.get();
    copy.smtp.password = "";
    copy.s3.secret = "";
    copy.backups.s3.secret = "";
    return copy;
  }

  /** The rate-limit settings, read on every request (not a copy: never modify it). */
  get rateLimits(): Readonly<Settings["rateLimits"]> {
    return this.current.rateLimits;
  }

  /** The trusted-proxy settings, read on every rate-limited request (not a copy: never modify it). */
  get trustedProxy(): Readonly<Settings["trustedProxy"]> {
    return this.current.trustedProxy;
  }

  /** The superuser IP allowlist, read on every superuser request (not a copy: never modify it). */
  get superuserIPs(): readonly string[] {
    return this.current.superuserIPs;
  }

  /** The logs settings, read on every request (not a copy: never modify it). */
  get logs(): Readonly<Settings["logs"]> {
    return this.current.logs;
  }

  /** The batch settings, read on every batch request. */
  get batch(): Readonly<Settings["batch"]> {
    return this.current.batch;
  }

  private merged(input: unknown, strict: boolean): Settings {
    const next = structuredClone(this.current);
    if (!isPlainObject(input)) {
      if (strict) throw badRequest("An error occurred while loading the submitted data.");
      return next;
    }
    const errors: ErrorData = {};
    if (input.superuserIPs !== undefined) {
      const checked = checkSuperuserIPs(input.superuserIPs);
      if (Array.isArray(checked)) next.superuserIPs = checked;
      else errors.superuserIPs = checked;
    }
    for (const group of Object.keys(SCHEMA) as (keyof typeof SCHEMA)[]) {
      const given = input[group];
      if (given === undefined) continue;
      if (!isPlainObject(given)) {
        errors[group] = fieldError("validation_invalid_value", "Invalid value.");
        continue;
      }
      const target = next[group] as unknown as Record<string, unknown>;
      const groupErrors: ErrorData = {};
      for (const [key, kind] of Object.entries(SCHEMA[group])) {
        if (given[key] === undefined) continue;
        // the API never shows the SMTP password, so an empty one in an update means "unchanged"
        if (group === "smtp" && key === "password" && given[key] === "") continue;
        if (group === "s3" && key === "secret" && given[key] === "") continue;
        if (checkKind(kind, given[key])) target[key] = given[key];
        else groupErrors[key] = fieldError("validation_invalid_value", "Invalid value.");
      }
      if (group === "rateLimits" && given.rules !== undefined) {
        const parsed = parseRateLimitRules(given.rules);
        if (parsed.rules) next.rateLimits.rules = parsed.rules;
        else Object.assign(groupErrors, parsed.errors);
      }
      if (group === "rateLimits" && given.excludedIPs !== undefined) {
        if (isIpOrSubnetList(given.excludedIPs)) next.rateLimits.excludedIPs = given.excludedIPs;
        else groupErrors.excludedIPs = fieldError("validation_invalid_value", "Must be IPs or subnets.");
      }
      if (Object.keys(groupErrors).length) errors[group] = groupErrors;
    }
    if (next.smtp.enabled && (!next.smtp.host || next.smtp.port < 1 || next.smtp.port > 65535)) {
      errors.smtp = { host: fieldError("validation_required", "A host and a port (1-65535) are required.") };
    }
    if (!["", "PLAIN", "LOGIN"].includes(next.smtp.authMethod)) {
      errors.smtp = { authMethod: fieldError("validation_in_invalid", "Must be a valid value.") };
    }
    const s3Errors = requiredS3(next.s3);
    if (s3Errors) errors.s3 = s3Errors;
    if (input.backups !== undefined) {
      const backupErrors = mergeBackups(next, input.backups);
      if (backupErrors) errors.backups = backupErrors;
    }
    if (next.rateLimits.enabled && next.rateLimits.rules.length === 0) {
      errors.rateLimits = { rules: fieldError("validation_required", "Cannot be blank.") };
    }
    if (next.batch.enabled && next.batch.maxRequests < 1) {
      errors.batch = { maxRequests: fieldError("validation_required", "Cannot be blank.") };
    }
    if (strict && Object.keys(errors).length) {
      throw badRequest("An error occurred while validating the submitted data.", errors);
    }
    return next;
  }

  /** Applies a partial update (PATCH body) after validating it, and persists it. */
  async update(input: unknown): Promise<Settings> {
    const next = this.merged(input, true);
    const t = this.db.dialect.quoteIdent;
    const now = nowDateTime();
    const sealed = structuredClone(next);
    const box = this.secrets;
    if (box) mapSettingsSecrets(sealed, (v) => box.seal(v));
    const value = JSON.stringify(sealed);
    await this.db.transaction(async (tx) => {
      const r = await tx.run(
        `UPDATE ${t(PARAMS_TABLE)} SET ${t("value")} = ?, ${t("updated")} = ? WHERE ${t("id")} = ?`,
        [value, now, SETTINGS_ID],
      );
      if (r.changes === 0) {
        await tx.run(
          `INSERT INTO ${t(PARAMS_TABLE)} (${t("id")}, ${t("value")}, ${t("created")}, ${t("updated")}) VALUES (?, ?, ?, ?)`,
          [SETTINGS_ID, value, now, now],
        );
      }
    });
    this.current = next;
    await Promise.all(this.appliedListeners.map((l) => l()));
    await Promise.all(this.listeners.map((l) => l()));
    return this.publicView();
  }
}

function requiredS3(s3: S3Settings): ErrorData | null {
  if (!s3.enabled) return null;
  const errors: ErrorData = {};
  for (const key of ["bucket", "region", "endpoint", "accessKey", "secret"] as const) {
    if (!s3[key]) errors[key] = fieldError("validation_required", "Cannot be blank.");
  }
  return Object.keys(errors).length ? errors : null;
}

/**
 * Merges a `backups` update into `next` as PocketBase validates it: `cron` a valid five-field expression or
 * empty, `cronMaxKeep` at least 1 when a cron is set, `s3` complete when enabled. Returns the errors.
 */
function mergeBackups(next: Settings, given: unknown): ErrorData | null {
  if (!isPlainObject(given)) return { backups: fieldError("validation_invalid_value", "Invalid value.") };
  const errors: ErrorData = {};
  const b = next.backups;
  if (given.cron !== undefined) {
    if (typeof given.cron !== "string" || given.cron.length > 200) {
      errors.cron = fieldError("validation_invalid_value", "Invalid value.");
    } else {
      b.cron = given.cron.trim();
      if (b.cron) {
        try {
          new Cron(b.cron, { timezone: "UTC", mode: "5-part", paused: true }).stop();
        } catch (err) {
          errors.cron = fieldError("validation_invalid_cron", (err as Error).message);
        }
      }
    }
  }
  if (given.cronMaxKeep !== undefined) {
    if (checkKind("int", given.cronMaxKeep) && Number(given.cronMaxKeep) <= 10_000)
      b.cronMaxKeep = Number(given.cronMaxKeep);
    else errors.cronMaxKeep = fieldError("validation_invalid_value", "Invalid value.");
  }
  if (b.cron && b.cronMaxKeep < 1 && !errors.cronMaxKeep)
    errors.cronMaxKeep = fieldError("validation_min_greater_equal_than_required", "Must be no less than 1.");
  if (given.s3 !== undefined) {
    if (!isPlainObject(given.s3)) errors.s3 = fieldError("validation_invalid_value", "Invalid value.");
    else {
      const s3Errors: ErrorData = {};
      const target = b.s3 as unknown as Record<string, unknown>;
      for (const [key, kind] of Object.entries(S3_SCHEMA)) {
        const v = given.s3[key];
        if (v === undefined || (key === "secret" && v === "")) continue;
        if (checkKind(kind, v)) target[key] = v;
        else s3Errors[key] = fieldError("validation_invalid_value", "Invalid value.");
      }
      Object.assign(s3Errors, requiredS3(b.s3) ?? {});
      if (Object.keys(s3Errors).length) errors.s3 = s3Errors;
    }
  }
  return Object.keys(errors).length ? errors : null;
}

const MAX_SUPERUSER_IPS = 1000;

/**
 * Validates `superuserIPs` as PocketBase does: a list whose every entry is an IP address or a CIDR subnet
 * (no blanks, no surrounding spaces, no IPv6 zones). Returns the list, or the field's errors (per entry, by
 * index, or for the whole value).
 */
function checkSuperuserIPs(v: unknown): string[] | ErrorData | ReturnType<typeof fieldError> {
  if (!Array.isArray(v) || v.length > MAX_SUPERUSER_IPS) {
    return fieldError(
      "validation_invalid_value",
      `Must be a list of at most ${MAX_SUPERUSER_IPS} IPs or subnets.`,
    );
  }
  const errors: ErrorData = {};
  v.forEach((entry, i) => {
    if (typeof entry !== "string" || entry === "") {
      errors[String(i)] = fieldError("validation_required", "Cannot be blank.");
    } else if (entry.length > 100 || /[\s%]/.test(entry) || ipBlock([entry]) === null) {
      // PocketBase's code for this error, spelling included
      errors[String(i)] = fieldError("validation_invlaid_ip_or_subnet", "invalid IP or CIDR subnet");
    }
  });
  return Object.keys(errors).length ? errors : (v as string[]);
}
