import { crc32, nowDateTime, randomString } from "../../util/index.js";
import { type Field, type FieldTypeName, fieldType } from "../fields/index.js";
import type { AuthOptions, Collection, CollectionType, EmailTemplate, TokenConfig } from "./model.js";

/** The id PocketBase gives `_superusers`; the JS SDK hard-codes it in `isSuperuser`. */
export const SUPERUSERS_ID = "pbc_3142635823";
/** The name of the superusers collection. */
export const SUPERUSERS = "_superusers";
/** The id of the default `users` collection. */
export const USERS_ID = "_pb_users_auth_";

/** A collection's default id: `pbc_` + crc32(type + name). */
export function defaultCollectionId(type: string, name: string): string {
  return `pbc_${crc32(type + name)}`;
}

/** A field's default id: its type + crc32(name). */
export function defaultFieldId(type: string, name: string): string {
  return `${type}${crc32(name)}`;
}

/** A field of a type with every option at its default, then `props` on top. */
export function makeField(type: FieldTypeName, name: string, props: Partial<Field> = {}): Field {
  const def = fieldType(type)!;
  const field: Field = {
    id: defaultFieldId(type, name),
    name,
    type,
    system: false,
    hidden: false,
    presentable: false,
  };
  for (const [key, opt] of Object.entries(def.options)) field[key] = structuredClone(opt.default);
  return Object.assign(field, props);
}

/** The `id` primary-key field every collection has. */
export function idField(): Field {
  return makeField("text", "id", {
    system: true,
    primaryKey: true,
    required: true,
    min: 15,
    max: 15,
    pattern: "^[a-z0-9]+$",
    autogeneratePattern: "[a-z0-9]{15}",
  });
}

/** The system fields of an auth collection, in PocketBase's order (after `id`). */
export function authSystemFields(): Field[] {
  return [
    makeField("password", "password", { system: true, hidden: true, required: true, min: 8 }),
    makeField("text", "tokenKey", {
      system: true,
      hidden: true,
      required: true,
      min: 30,
      max: 60,
      autogeneratePattern: "[a-zA-Z0-9]{50}",
    }),
    makeField("email", "email", { system: true, required: true }),
    makeField("bool", "emailVisibility", { system: true }),
    makeField("bool", "verified", { system: true }),
  ];
}

/** `created` and `updated` autodate fields. */
export function timestampFields(system = false): Field[] {
  return [
    makeField("autodate", "created", { system, onCreate: true }),
    makeField("autodate", "updated", { system, onCreate: true, onUpdate: true }),
  ];
}

/** A new 50-character token secret. */
export function newTokenSecret(): string {
  return randomString(50, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
}

function token(duration: number): TokenConfig {
  return { duration, secret: newTokenSecret() };
}

function template(subject: string, lines: string[]): EmailTemplate {
  return { subject, body: `${lines.join("\n")}\n<p>\n  Regards,<br/>\n  The {APP_NAME} team\n</p>` };
}

/** The default auth options of a new auth collection, with fresh secrets. */
export function defaultAuthOptions(): AuthOptions {
  return {
    authRule: "",
    manageRule: null,
    authAlert: {
      enabled: true,
      emailTemplate: template("New sign-in to your {APP_NAME} account", [
        "<p>Hi,</p>",
        "<p>Your {APP_NAME} account was just used to sign in from a device or location we have not seen before:</p>",
        "<p><em>{ALERT_INFO}</em></p>",
        "<p>If that was you, there is nothing to do.</p>",
        "<p><strong>If it was not you, change your {APP_NAME} password now: that signs out every other session.</strong></p>",
      ]),
    },
    oauth2: {
      providers: [],
      mappedFields: { id: "", name: "", username: "", avatarURL: "" },
      enabled: false,
    },
    passwordAuth: { enabled: true, identityFields: ["email"] },
    mfa: { enabled: false, duration: 1800, rule: "" },
    otp: {
      enabled: false,
      duration: 180,
      length: 8,
      emailTemplate: template("Your {APP_NAME} sign-in code", [
        "<p>Hi,</p>",
        "<p>Your one-time sign-in code is <strong>{OTP}</strong>.</p>",
        "<p><i>If you did not ask for a code, ignore this message.</i></p>",
      ]),
    },
    authToken: token(604800),
    passwordResetToken: token(1800),
    emailChangeToken: token(1800),
    verificationToken: token(259200),
    fileToken: token(180),
    verificationTemplate: template("Confirm your {APP_NAME} e-mail address", [
      "<p>Hi,</p>",
      "<p>Welcome to {APP_NAME}. Please confirm your e-mail address with the button below.</p>",
      '<p>\n  <a class="btn" href="{APP_URL}/_/#/auth/confirm-verification/{TOKEN}" target="_blank" rel="noopener">Confirm e-mail</a>\n</p>',
    ]),
    resetPasswordTemplate: template("Reset your {APP_NAME} password", [
      "<p>Hi,</p>",
      "<p>Choose a new password with the button below.</p>",
      '<p>\n  <a class="btn" href="{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}" target="_blank" rel="noopener">Choose a new password</a>\n</p>',
      "<p><i>If you did not ask for a password reset, ignore this message; your password stays as it is.</i></p>",
    ]),
    confirmEmailChangeTemplate: template("Confirm your new {APP_NAME} e-mail address", [
      "<p>Hi,</p>",
      "<p>Confirm your new e-mail address with the button below.</p>",
      '<p>\n  <a class="btn" href="{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}" target="_blank" rel="noopener">Confirm new e-mail</a>\n</p>',
      "<p><i>If you did not ask to change your e-mail address, ignore this message.</i></p>",
    ]),
  };
}

/** The index definitions an auth collection must have (unique tokenKey and email). */
export function authIndexes(collectionId: string, name: string): string[] {
  return [
    `CREATE UNIQUE INDEX \`idx_tokenKey_${collectionId}\` ON \`${name}\` (\`tokenKey\`)`,
    // Case-insensitive: sign-in, reset and OAuth2 find accounts by e-mail ignoring case, so two accounts whose
    // addresses differ only in case would be confused with each other.
    `CREATE UNIQUE INDEX \`idx_email_${collectionId}\` ON \`${name}\` (\`email\` COLLATE NOCASE) WHERE \`email\` != ''`,
  ];
}

/** A new collection of a type with its system fields and defaults (every rule locked). */
export function newCollection(
  type: CollectionType,
  name: string,
  id = defaultCollectionId(type, name),
): Collection {
  const now = nowDateTime();
  const c: Collection = {
    id,
    listRule: null,
    viewRule: null,
    createRule: null,
    updateRule: null,
    deleteRule: null,
    name,
    type,
    fields: type === "view" ? [] : [idField()],
    indexes: [],
    created: now,
    updated: now,
    system: false,
  };
  if (type === "auth") {
    c.fields.push(...authSystemFields());
    c.indexes = authIndexes(id, name);
    Object.assign(c, defaultAuthOptions());
  }
  if (type === "view") c.viewQuery = "";
  return c;
}

const OWNER_RULE =
  "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

function systemBase(
  name: string,
  fields: Field[],
  indexes: (id: string) => string[],
  rules: Partial<Collection>,
) {
  const c = newCollection("base", name);
  c.system = true;
  c.fields.push(...fields, ...timestampFields(true));
  c.indexes = indexes(c.id);
  return Object.assign(c, rules);
}

function refFields(...extra: Field[]): Field[] {
  return [
    makeField("text", "collectionRef", { system: true, required: true }),
    makeField("text", "recordRef", { system: true, required: true }),
    ...extra,
  ];
}

/** The collections a new data folder starts with, in creation order. */
export function initialCollections(): Collection[] {
  const mfas = systemBase(
    "_mfas",
    refFields(makeField("text", "method", { system: true, required: true })),
    () => ["CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (`collectionRef`, `recordRef`)"],
    { listRule: OWNER_RULE, viewRule: OWNER_RULE },
  );
  const otps = systemBase(
    "_otps",
    refFields(
      makeField("password", "password", { system: true, hidden: true, required: true, cost: 8 }),
      makeField("text", "sentTo", { system: true, hidden: true }),
    ),
    () => ["CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (`collectionRef`, `recordRef`)"],
    { listRule: OWNER_RULE, viewRule: OWNER_RULE },
  );
  const externalAuths = systemBase(
    "_externalAuths",
    refFields(
      makeField("text", "provider", { system: true, required: true }),
      makeField("text", "providerId", { system: true, required: true }),
    ),
    () => [
      "CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (`collectionRef`, `recordRef`, `provider`)",
      "CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (`collectionRef`, `provider`, `providerId`)",
    ],
    { listRule: OWNER_RULE, viewRule: OWNER_RULE, deleteRule: OWNER_RULE },
  );
  const authOrigins = systemBase(
    "_authOrigins",
    refFields(makeField("text", "fingerprint", { system: true, required: true })),
    () => [
      "CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (`collectionRef`, `recordRef`, `fingerprint`)",
    ],
    { listRule: OWNER_RULE, viewRule: OWNER_RULE, deleteRule: OWNER_RULE },
  );

  const superusers = newCollection("auth", SUPERUSERS);
  superusers.system = true;
  superusers.fields.push(...timestampFields(true));
  superusers.authToken!.duration = 86400;

  const users = newCollection("auth", "users", USERS_ID);
  const ownRecord = "id = @request.auth.id";
  Object.assign(users, {
    listRule: ownRecord,
    viewRule: ownRecord,
    createRule: "",
    updateRule: ownRecord,
    deleteRule: ownRecord,
  });
  users.fields.push(
    makeField("text", "name", { max: 255 }),
    makeField("file", "avatar", {
      maxSelect: 1,
      mimeTypes: ["image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"],
    }),
    ...timestampFields(false),
  );
  users.oauth2!.mappedFields = { id: "", name: "name", username: "", avatarURL: "avatar" };
  return [mfas, otps, externalAuths, authOrigins, superusers, users];
}

/** The scaffolds route's answer: an empty new collection of each type, keyed by type. */
export function scaffolds(): Record<CollectionType, Collection> {
  const out = {} as Record<CollectionType, Collection>;
  for (const type of ["auth", "base", "view"] as const) {
    const c = newCollection(type, "");
    c.id = "";
    c.created = "";
    c.updated = "";
    if (type !== "view") c.fields.push(...timestampFields(false));
    out[type] = c;
  }
  return out;
}
