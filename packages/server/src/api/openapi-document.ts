import { type Collection, isAuthCollection } from "../core/collections/index.js";
import { type Field, isMultiValued } from "../core/fields/index.js";
import { isSecretField } from "../core/records/index.js";

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ "application/json": { schema } });
const ok = (schema: Schema, description = "OK") => ({ description, content: json(schema) });
const ERRORS = {
  "400": { description: "Bad request or failed validation", content: json(ref("Error")) },
  "403": { description: "Refused by the collection's rule", content: json(ref("Error")) },
};
const NOT_FOUND = { "404": { description: "Missing, or hidden by the rules", content: json(ref("Error")) } };

/** A schema name for a collection (the collection name; names are `\w+`, valid as component keys). */
const schemaName = (c: Collection, suffix: string) => `${c.name}${suffix}`;

/** The JSON schema of one field's API value. */
function fieldSchema(field: Field): Schema {
  const many = isMultiValued(field);
  const list = (item: Schema): Schema => (many ? { type: "array", items: item } : item);
  switch (field.type) {
    case "number":
      return { type: "number" };
    case "bool":
      return { type: "boolean" };
    case "json":
      return {};
    case "geoPoint":
      return {
        type: "object",
        properties: { lon: { type: "number" }, lat: { type: "number" } },
        required: ["lon", "lat"],
      };
    case "select": {
      const values = Array.isArray(field.values) ? (field.values as string[]) : [];
      return list({ type: "string", enum: many ? values : ["", ...values] });
    }
    case "relation":
      return list({ type: "string", description: `Record id in collection ${String(field.collectionId)}` });
    case "file":
      return list({ type: "string", description: "File name" });
    case "email":
      return { type: "string" };
    case "url":
      return { type: "string" };
    case "date":
    case "autodate":
      return { type: "string", description: "Date as `2006-01-02 15:04:05.000Z`, or empty" };
    default:
      return { type: "string" };
  }
}

function recordSchema(c: Collection, showHidden: boolean): Schema {
  const properties: Record<string, Schema> = {
    collectionId: { type: "string", const: c.id },
    collectionName: { type: "string", const: c.name },
  };
  for (const f of c.fields) {
    if (isSecretField(c, f) || (f.hidden && !showHidden)) continue;
    properties[f.name] = fieldSchema(f);
  }
  properties.expand = { type: "object", description: "Related records asked for with `expand`." };
  const always = ["id", "collectionId", "collectionName"];
  return { type: "object", properties, required: always.filter((k) => k in properties) };
}

function bodySchema(c: Collection, update: boolean): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const f of c.fields) {
    if (f.type === "autodate" || (isAuthCollection(c) && f.name === "tokenKey")) continue;
    if (f.name === "id" && update) continue;
    properties[f.name] = f.type === "password" ? { type: "string", writeOnly: true } : fieldSchema(f);
    if (!update && f.required && f.name !== "id" && !f.autogeneratePattern) required.push(f.name);
  }
  if (isAuthCollection(c)) {
    properties.passwordConfirm = { type: "string", writeOnly: true };
    if (update) properties.oldPassword = { type: "string", writeOnly: true };
    else required.push("passwordConfirm");
  }
  return { type: "object", properties, ...(required.length ? { required } : {}) };
}

const param = (name: string, description: string, schema: Schema = { type: "string" }) => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});
const EXPAND = param("expand", "Relations to expand, e.g. `author,comments_via_post.by`.");
const FIELDS = param("fields", "Keys to return, e.g. `id,title,expand.author.name`.");
const LIST_PARAMS = [
  param("page", "Page number (from 1).", { type: "integer", minimum: 1 }),
  param("perPage", "Page size (at most 1000).", { type: "integer", minimum: 1, maximum: 1000 }),
  param("sort", "Sort keys, e.g. `-created,title`."),
  param("filter", "Filter expression, e.g. `title ~ 'abc' && created > '2024-01-01'`."),
  param("skipTotal", "Skip the total count (totalItems and totalPages are -1).", { type: "boolean" }),
  EXPAND,
  FIELDS,
];
const ID = { name: "id", in: "path", required: true, schema: { type: "string" } };

/** The list parameters of a collection: with `search` when its full-text search is on (issue 18). */
function listParams(c: Collection) {
  if (!c.search) return LIST_PARAMS;
  const fields = c.search.fields.join(", ");
  const search = param(
    "search",
    `Full-text search over ${fields}: plain words, all required, the last one also as a prefix; ranked by relevance unless \`sort\` is given (at most 256 characters, 16 words).`,
    { type: "string", maxLength: 256 },
  );
  return [...LIST_PARAMS.slice(0, 4), search, ...LIST_PARAMS.slice(4)];
}

function recordPaths(c: Collection, su: boolean): Record<string, Record<string, Operation>> {
  const can = (rule: string | null) => su || rule !== null;
  const tag = [c.name];
  const Record = ref(schemaName(c, "Record"));
  const list: Record<string, Operation> = {};
  const one: Record<string, Operation> = {};
  if (can(c.listRule)) {
    list.get = {
      tags: tag,
      operationId: `list_${c.name}`,
      summary: `List ${c.name} records`,
      parameters: listParams(c),
      responses: { "200": ok(ref(schemaName(c, "List"))), ...ERRORS },
    };
  }
  if (can(c.viewRule)) {
    one.get = {
      tags: tag,
      operationId: `view_${c.name}`,
      summary: `View a ${c.name} record`,
      parameters: [ID, EXPAND, FIELDS],
      responses: { "200": ok(Record), ...ERRORS, ...NOT_FOUND },
    };
  }
  if (c.type !== "view") {
    const body = (name: string) => ({ required: true, content: json(ref(name)) });
    if (can(c.createRule)) {
      list.post = {
        tags: tag,
        operationId: `create_${c.name}`,
        summary: `Create a ${c.name} record`,
        parameters: [EXPAND, FIELDS],
        requestBody: body(schemaName(c, "Create")),
        responses: { "200": ok(Record), ...ERRORS },
      };
    }
    if (can(c.updateRule)) {
      one.patch = {
        tags: tag,
        operationId: `update_${c.name}`,
        summary: `Update a ${c.name} record`,
        parameters: [ID, EXPAND, FIELDS],
        requestBody: body(schemaName(c, "Update")),
        responses: { "200": ok(Record), ...ERRORS, ...NOT_FOUND },
      };
    }
    if (can(c.deleteRule)) {
      one.delete = {
        tags: tag,
        operationId: `delete_${c.name}`,
        summary: `Delete a ${c.name} record`,
        parameters: [ID],
        responses: { "204": { description: "Deleted" }, ...ERRORS, ...NOT_FOUND },
      };
    }
  }
  const base = `/api/collections/${c.name}`;
  const out: Record<string, Record<string, Operation>> = {};
  if (Object.keys(list).length) out[`${base}/records`] = list;
  if (Object.keys(one).length) out[`${base}/records/{id}`] = one;
  if (isAuthCollection(c)) Object.assign(out, authPaths(c));
  return out;
}

function authPaths(c: Collection): Record<string, Record<string, Operation>> {
  const base = `/api/collections/${c.name}`;
  const tag = [c.name];
  const auth = ok(ref(schemaName(c, "Auth")), "Signed in");
  const post = (id: string, summary: string, body: Schema | null, responses: Record<string, unknown>) => ({
    post: {
      tags: tag,
      operationId: `${id}_${c.name}`,
      summary,
      ...(body ? { requestBody: { required: true, content: json(body) } } : {}),
      responses: { ...responses, ...ERRORS },
    },
  });
  const obj = (props: Record<string, Schema>, required: string[]): Schema => ({
    type: "object",
    properties: props,
    required,
  });
  const str = { type: "string" };
  const done = { "204": { description: "Done (also when no account matches)" } };
  return {
    [`${base}/auth-methods`]: {
      get: {
        tags: tag,
        operationId: `auth_methods_${c.name}`,
        summary: "The sign-in methods this collection allows",
        responses: { "200": ok({ type: "object" }), ...NOT_FOUND },
      },
    },
    [`${base}/auth-with-password`]: post(
      "auth_with_password",
      "Sign in with an identity and a password",
      obj({ identity: str, password: str, identityField: str }, ["identity", "password"]),
      { "200": auth, "401": { description: "MFA required: `{mfaId}`", content: json({ type: "object" }) } },
    ),
    [`${base}/auth-refresh`]: {
      post: {
        tags: tag,
        operationId: `auth_refresh_${c.name}`,
        summary: "A new token for the signed-in record",
        security: [{ token: [] }],
        responses: { "200": auth, "401": { description: "No valid token", content: json(ref("Error")) } },
      },
    },
    [`${base}/request-otp`]: post(
      "request_otp",
      "E-mail a one-time password",
      obj({ email: str }, ["email"]),
      {
        "200": ok(obj({ otpId: str }, ["otpId"])),
      },
    ),
    [`${base}/auth-with-otp`]: post(
      "auth_with_otp",
      "Sign in with a one-time password",
      obj({ otpId: str, password: str }, ["otpId", "password"]),
      { "200": auth },
    ),
    [`${base}/request-verification`]: post(
      "request_verification",
      "E-mail a verification link",
      obj({ email: str }, ["email"]),
      done,
    ),
    [`${base}/confirm-verification`]: post(
      "confirm_verification",
      "Confirm an e-mail address",
      obj({ token: str }, ["token"]),
      done,
    ),
    [`${base}/request-password-reset`]: post(
      "request_password_reset",
      "E-mail a password reset link",
      obj({ email: str }, ["email"]),
      done,
    ),
    [`${base}/confirm-password-reset`]: post(
      "confirm_password_reset",
      "Set a new password with a reset token",
      obj({ token: str, password: str, passwordConfirm: str }, ["token", "password", "passwordConfirm"]),
      done,
    ),
  };
}

function fixedPaths(): Record<string, Record<string, Operation>> {
  const obj = { type: "object" };
  return {
    "/api/health": {
      get: {
        tags: ["system"],
        operationId: "health",
        summary: "Whether the server is up",
        responses: { "200": ok(obj) },
      },
    },
    "/api/realtime": {
      get: {
        tags: ["realtime"],
        operationId: "realtime_connect",
        summary: "Open the realtime event stream (SSE; the first event, PB_CONNECT, carries the clientId)",
        responses: {
          "200": { description: "An event stream", content: { "text/event-stream": { schema: {} } } },
        },
      },
      post: {
        tags: ["realtime"],
        operationId: "realtime_subscribe",
        summary: "Set a realtime client's subscriptions (`collection/*` or `collection/ID`)",
        requestBody: {
          required: true,
          content: json({
            type: "object",
            properties: {
              clientId: { type: "string" },
              subscriptions: { type: "array", items: { type: "string" } },
            },
            required: ["clientId"],
          }),
        },
        responses: { "204": { description: "Subscribed" }, ...ERRORS, ...NOT_FOUND },
      },
    },
    "/api/batch": {
      post: {
        tags: ["records"],
        operationId: "batch",
        summary: "Several record writes in one transaction",
        requestBody: {
          required: true,
          content: json({
            type: "object",
            properties: {
              requests: {
                type: "array",
                items: {
                  type: "object",
                  properties: { method: { type: "string" }, url: { type: "string" }, body: obj },
                  required: ["method", "url"],
                },
              },
            },
            required: ["requests"],
          }),
        },
        responses: { "200": ok({ type: "array", items: obj }), ...ERRORS },
      },
    },
    "/api/graphql": {
      post: {
        tags: ["graphql"],
        operationId: "graphql",
        summary: "Run a GraphQL query or mutation over the same records service",
        requestBody: {
          required: true,
          content: json({
            type: "object",
            properties: { query: { type: "string" }, variables: obj, operationName: { type: "string" } },
            required: ["query"],
          }),
        },
        responses: { "200": ok(obj), "400": { description: "The operation cannot run", content: json(obj) } },
      },
    },
    "/api/files/{collection}/{recordId}/{filename}": {
      get: {
        tags: ["files"],
        operationId: "file",
        summary: "Download a record's file (`thumb`, `token` and `download` query options)",
        parameters: [
          { name: "collection", in: "path", required: true, schema: { type: "string" } },
          { name: "recordId", in: "path", required: true, schema: { type: "string" } },
          { name: "filename", in: "path", required: true, schema: { type: "string" } },
          param("thumb", "Thumbnail size, e.g. `100x100`."),
          param("token", "File token for protected files."),
        ],
        responses: {
          "200": { description: "The file", content: { "application/octet-stream": { schema: {} } } },
          ...NOT_FOUND,
        },
      },
    },
  };
}

/** Whether a non-superuser may see a collection in the document: it lists or views records (some rule set). */
export function documentedFor(c: Collection, superuser: boolean): boolean {
  return superuser || c.listRule !== null || c.viewRule !== null;
}

/**
 * The OpenAPI 3.1 document of the API: the fixed routes, and per collection the caller may list or view
 * (every collection for a superuser) its record, list, create and update schemas, its records routes
 * (those whose rule is not superusers-only) with the filter/sort/expand/fields parameters, its auth routes
 * for auth collections, and PocketBase's error shape. Hidden fields appear only in a superuser's document.
 */
export function openApiDocument(
  collections: readonly Collection[],
  opts: { superuser: boolean; title: string; version: string },
): Record<string, unknown> {
  const schemas: Record<string, Schema> = {
    Error: {
      type: "object",
      description: "PocketBase's error shape; `data` holds per-field `{code, message}` errors.",
      properties: { status: { type: "integer" }, message: { type: "string" }, data: { type: "object" } },
      required: ["status", "message", "data"],
    },
  };
  const paths: Record<string, unknown> = fixedPaths();
  const tags: { name: string; description?: string }[] = [];
  for (const c of collections) {
    if (!documentedFor(c, opts.superuser)) continue;
    tags.push({ name: c.name, description: `${c.type} collection` });
    schemas[schemaName(c, "Record")] = recordSchema(c, opts.superuser);
    schemas[schemaName(c, "List")] = {
      type: "object",
      properties: {
        page: { type: "integer" },
        perPage: { type: "integer" },
        totalItems: { type: "integer" },
        totalPages: { type: "integer" },
        items: { type: "array", items: ref(schemaName(c, "Record")) },
      },
      required: ["page", "perPage", "totalItems", "totalPages", "items"],
    };
    if (c.type !== "view") {
      schemas[schemaName(c, "Create")] = bodySchema(c, false);
      schemas[schemaName(c, "Update")] = bodySchema(c, true);
    }
    if (isAuthCollection(c)) {
      schemas[schemaName(c, "Auth")] = {
        type: "object",
        properties: {
          token: { type: "string" },
          record: ref(schemaName(c, "Record")),
          meta: { type: "object" },
        },
        required: ["token", "record"],
      };
    }
    Object.assign(paths, recordPaths(c, opts.superuser));
  }
  return {
    openapi: "3.1.0",
    info: {
      title: opts.title,
      version: opts.version,
      description:
        "PocketBase-compatible REST API. Send the token from a sign-in as the `Authorization` header. GraphQL runs at /api/graphql.",
    },
    servers: [{ url: "/" }],
    tags,
    paths,
    components: {
      schemas,
      securitySchemes: { token: { type: "apiKey", in: "header", name: "Authorization" } },
    },
    security: [{}, { token: [] }],
  };
}
