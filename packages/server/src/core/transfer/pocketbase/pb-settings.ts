import { isPlainObject } from "../../../util/index.js";
import type { PbSource } from "./pb-source.js";

/** What PocketBase's settings row yields for Basalt. */
export interface PbSettings {
  /** Basalt settings groups to store (`_params` row `settings`); null when there is nothing to take. */
  value: Record<string, unknown> | null;
  /** 0.22 kept the OAuth2 providers in its settings; 0.23 moved them into each auth collection. */
  providers: Record<string, unknown>[];
  /** The settings are encrypted (PocketBase's `--encryptionEnv`): they cannot be read and are left out. */
  encrypted: boolean;
}

/** The settings groups Basalt shares with PocketBase 0.23, taken as they are (Basalt checks them on load). */
const CURRENT_GROUPS = [
  "meta",
  "smtp",
  "s3",
  "backups",
  "logs",
  "batch",
  "rateLimits",
  "trustedProxy",
  "superuserIPs",
];

const obj = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** The parts of 0.22's settings that 0.23 kept, renamed as PocketBase's own upgrade renames them. */
function legacySettings(old: Record<string, unknown>): Record<string, unknown> {
  const meta = obj(old.meta);
  const logs = obj(old.logs);
  const smtp = obj(old.smtp);
  const bucket = (v: unknown) => {
    const s3 = obj(v);
    return {
      enabled: s3.enabled === true,
      bucket: str(s3.bucket),
      region: str(s3.region),
      endpoint: str(s3.endpoint),
      accessKey: str(s3.accessKey),
      secret: str(s3.secret),
      forcePathStyle: s3.forcePathStyle === true,
    };
  };
  const backups = obj(old.backups);
  return {
    meta: {
      appName: str(meta.appName),
      appURL: str(meta.appUrl).replace(/\/+$/, ""),
      senderName: str(meta.senderName),
      senderAddress: str(meta.senderAddress),
      hideControls: meta.hideControls === true,
    },
    logs: {
      maxDays: Number(logs.maxDays) || 0,
      minLevel: Number(logs.minLevel) || 0,
      logIP: logs.logIp === true,
    },
    smtp: {
      enabled: smtp.enabled === true,
      host: str(smtp.host),
      port: Number(smtp.port) || 0,
      username: str(smtp.username),
      password: str(smtp.password),
      authMethod: str(smtp.authMethod),
      tls: smtp.tls === true,
      localName: str(smtp.localName),
    },
    s3: bucket(old.s3),
    ...(isPlainObject(old.backups)
      ? {
          backups: {
            cron: str(backups.cron),
            cronMaxKeep: Number(backups.cronMaxKeep) || 3,
            s3: bucket(backups.s3),
          },
        }
      : {}),
  };
}

/** 0.22's enabled `<name>Auth` provider settings as 0.23 OAuth2 providers. */
function legacyProviders(old: Record<string, unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [key, raw] of Object.entries(old)) {
    if (!key.endsWith("Auth") || key === "emailAuth" || !isPlainObject(raw) || raw.enabled !== true) continue;
    out.push({
      name: key.slice(0, -"Auth".length),
      clientId: str(raw.clientId),
      clientSecret: str(raw.clientSecret),
      authURL: str(raw.authUrl),
      tokenURL: str(raw.tokenUrl),
      userInfoURL: str(raw.userApiUrl),
      displayName: str(raw.displayName),
      pkce: typeof raw.pkce === "boolean" ? raw.pkce : null,
      extra: null,
    });
  }
  return out;
}

/** Reads PocketBase's settings row (`key = 'settings'` before 0.23, `id = 'settings'` since). */
export function readPbSettings(src: PbSource): PbSettings {
  const none: PbSettings = { value: null, providers: [], encrypted: false };
  if (!src.hasTable("_params")) return none;
  const legacy = src.layout === "0.22";
  const where = legacy && src.columns("_params").has("key") ? `"key"` : `"id"`;
  const row = src.db.prepare(`SELECT "value" FROM "_params" WHERE ${where} = 'settings'`).get() as
    | { value: unknown }
    | undefined;
  if (!row || typeof row.value !== "string" || !row.value) return none;
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.value);
  } catch {
    return { ...none, encrypted: true };
  }
  if (!isPlainObject(parsed)) return { ...none, encrypted: typeof parsed === "string" };
  if (legacy) return { value: legacySettings(parsed), providers: legacyProviders(parsed), encrypted: false };
  const value: Record<string, unknown> = {};
  for (const group of CURRENT_GROUPS) if (parsed[group] !== undefined) value[group] = parsed[group];
  return { value, providers: [], encrypted: false };
}
