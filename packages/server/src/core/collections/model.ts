import type { Field } from "../fields/index.js";
import type { SearchOptions } from "./search.js";

/** The three kinds of collection. */
export type CollectionType = "base" | "auth" | "view";

/** A token kind's settings: how long it lives, and the secret mixed into its signing key (never sent). */
export interface TokenConfig {
  duration: number;
  secret: string;
}

/** An e-mail template with PocketBase's placeholders ({APP_NAME}, {APP_URL}, {TOKEN}, {OTP}…). */
export interface EmailTemplate {
  subject: string;
  body: string;
}

/** One configured OAuth2 provider of an auth collection. */
export interface OAuth2Provider {
  name: string;
  clientId: string;
  clientSecret: string;
  authURL: string;
  tokenURL: string;
  userInfoURL: string;
  displayName: string;
  pkce: boolean | null;
  extra: Record<string, unknown> | null;
}

/** The options an auth collection adds, in PocketBase's JSON order. */
export interface AuthOptions {
  authRule: string | null;
  manageRule: string | null;
  authAlert: { enabled: boolean; emailTemplate: EmailTemplate };
  oauth2: {
    providers: OAuth2Provider[];
    mappedFields: { id: string; name: string; username: string; avatarURL: string };
    enabled: boolean;
  };
  passwordAuth: { enabled: boolean; identityFields: string[] };
  mfa: { enabled: boolean; duration: number; rule: string };
  otp: { enabled: boolean; duration: number; length: number; emailTemplate: EmailTemplate };
  authToken: TokenConfig;
  passwordResetToken: TokenConfig;
  emailChangeToken: TokenConfig;
  verificationToken: TokenConfig;
  fileToken: TokenConfig;
  verificationTemplate: EmailTemplate;
  resetPasswordTemplate: EmailTemplate;
  confirmEmailChangeTemplate: EmailTemplate;
}

/** The names of the five record rules every collection has. */
export const RULE_NAMES = ["listRule", "viewRule", "createRule", "updateRule", "deleteRule"] as const;

/** One of the five record rule names. */
export type RuleName = (typeof RULE_NAMES)[number];

/**
 * A collection: the user's data model for one table (or view), with its fields, indexes and access rules.
 * Auth collections carry the AuthOptions keys too; view collections carry `viewQuery`.
 */
export interface Collection extends Partial<AuthOptions> {
  id: string;
  listRule: string | null;
  viewRule: string | null;
  createRule: string | null;
  updateRule: string | null;
  deleteRule: string | null;
  name: string;
  type: CollectionType;
  fields: Field[];
  indexes: string[];
  created: string;
  updated: string;
  system: boolean;
  viewQuery?: string;
  /** Full-text search over some text fields (issue 18); undefined when off. */
  search?: SearchOptions;
}

/** An auth collection, whose AuthOptions are all present. */
export type AuthCollection = Collection & AuthOptions;

/** True for an auth collection. */
export function isAuthCollection(c: Collection): c is AuthCollection {
  return c.type === "auth";
}

/** The token option keys of an auth collection. */
export const TOKEN_KEYS = [
  "authToken",
  "passwordResetToken",
  "emailChangeToken",
  "verificationToken",
  "fileToken",
] as const;

/** The auth option keys in PocketBase's JSON order. */
export const AUTH_OPTION_KEYS = [
  "authRule",
  "manageRule",
  "authAlert",
  "oauth2",
  "passwordAuth",
  "mfa",
  "otp",
  ...TOKEN_KEYS,
  "verificationTemplate",
  "resetPasswordTemplate",
  "confirmEmailChangeTemplate",
] as const;

/** Sorts an object's keys alphabetically (PocketBase serialises field objects through a map). */
function sortedKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k];
  return out;
}

/**
 * The collection's JSON as the API returns it: PocketBase's key order, field keys sorted, and every token
 * secret and OAuth2 client secret left out.
 */
export function collectionToJSON(c: Collection): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: c.id,
    listRule: c.listRule,
    viewRule: c.viewRule,
    createRule: c.createRule,
    updateRule: c.updateRule,
    deleteRule: c.deleteRule,
    name: c.name,
    type: c.type,
    fields: c.fields.map((f) => sortedKeys(f)),
    indexes: [...c.indexes],
    created: c.created,
    updated: c.updated,
    system: c.system,
  };
  if (c.type === "view") out.viewQuery = c.viewQuery ?? "";
  if (isAuthCollection(c)) {
    for (const key of AUTH_OPTION_KEYS) {
      const value = structuredClone(c[key]) as unknown;
      if ((TOKEN_KEYS as readonly string[]).includes(key)) delete (value as Partial<TokenConfig>).secret;
      if (key === "oauth2") {
        for (const p of (value as AuthOptions["oauth2"]).providers)
          delete (p as Partial<OAuth2Provider>).clientSecret;
      }
      out[key] = value;
    }
  }
  if (c.search) out.search = { fields: [...c.search.fields] };
  return out;
}

/** Finds a field by name (exact). */
export function findField(c: Collection, name: string): Field | undefined {
  return c.fields.find((f) => f.name === name);
}
