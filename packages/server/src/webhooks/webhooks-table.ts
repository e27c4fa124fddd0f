import { type Database, syncTable, type TableSpec } from "../db/index.js";

/** The outbound webhooks superusers configure. */
export const WEBHOOKS_TABLE = "_webhooks";
/** One row per message sent (or to send) to a webhook, with the outcome of its last attempt. */
export const DELIVERIES_TABLE = "_webhook_deliveries";

/** Ids of verified inbound webhook messages, so a replay is refused. */
export const INBOUND_TABLE = "_webhook_inbound";

/** The schema of `_webhook_inbound`: `id` is `<scheme>:<message id>`, `seen` epoch ms. */
export const INBOUND_TABLE_SPEC: TableSpec = {
  name: INBOUND_TABLE,
  columns: [
    { key: "id", name: "id", kind: "id" },
    { key: "seen", name: "seen", kind: "number" },
  ],
  indexes: [{ name: "idx__webhook_inbound_seen", unique: false, columns: [{ name: "seen" }] }],
};

/** The schema of `_webhooks`. */
export const WEBHOOKS_TABLE_SPEC: TableSpec = {
  name: WEBHOOKS_TABLE,
  columns: [
    { key: "id", name: "id", kind: "id" },
    { key: "name", name: "name", kind: "text" },
    { key: "url", name: "url", kind: "text" },
    { key: "secret", name: "secret", kind: "text" },
    { key: "collections", name: "collections", kind: "jsonArray" },
    { key: "events", name: "events", kind: "jsonArray" },
    { key: "filter", name: "filter", kind: "text" },
    { key: "fields", name: "fields", kind: "jsonArray" },
    { key: "active", name: "active", kind: "bool" },
    { key: "created", name: "created", kind: "text" },
    { key: "updated", name: "updated", kind: "text" },
  ],
  indexes: [],
};

/** The schema of `_webhook_deliveries`; times are epoch milliseconds. */
export const DELIVERIES_TABLE_SPEC: TableSpec = {
  name: DELIVERIES_TABLE,
  columns: [
    { key: "id", name: "id", kind: "id" },
    { key: "webhook", name: "webhook", kind: "text" },
    { key: "type", name: "type", kind: "text" },
    { key: "body", name: "body", kind: "text" },
    { key: "status", name: "status", kind: "text" },
    { key: "attempts", name: "attempts", kind: "number" },
    { key: "response_status", name: "response_status", kind: "number" },
    { key: "latency_ms", name: "latency_ms", kind: "number" },
    { key: "response_excerpt", name: "response_excerpt", kind: "text" },
    { key: "error", name: "error", kind: "text" },
    { key: "created", name: "created", kind: "number" },
    { key: "updated", name: "updated", kind: "number" },
  ],
  indexes: [
    {
      name: "idx__webhook_deliveries_webhook",
      unique: false,
      columns: [{ name: "webhook" }, { name: "created" }],
    },
  ],
};

/** Creates the webhook tables on a database that lacks them, once across instances starting together. */
export async function ensureWebhookTables(db: Database): Promise<void> {
  const tables = [WEBHOOKS_TABLE, DELIVERIES_TABLE, INBOUND_TABLE];
  if ((await Promise.all(tables.map((t) => db.tableExists(t)))).every(Boolean)) return;
  await db.lockedTransaction("webhooks-bootstrap", async (tx) => {
    if (!(await tx.tableExists(WEBHOOKS_TABLE))) await syncTable(tx, null, WEBHOOKS_TABLE_SPEC);
    if (!(await tx.tableExists(DELIVERIES_TABLE))) await syncTable(tx, null, DELIVERIES_TABLE_SPEC);
    if (!(await tx.tableExists(INBOUND_TABLE))) await syncTable(tx, null, INBOUND_TABLE_SPEC);
  });
}
