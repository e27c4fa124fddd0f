import type { Queryable } from "../../db/index.js";
import { BasaltError } from "../../errors/index.js";
import { nowDateTime } from "../../util/index.js";
import {
  COLLECTIONS_TABLE,
  loadCollectionRows,
  mapOAuth2Secrets,
  PARAMS_TABLE,
  saveCollectionRow,
} from "../collections/index.js";
import { mapSettingsSecrets } from "../settings/index.js";
import { isSealed, type SecretBox } from "./secret-box.js";

/** The `_params` row that records that (and with which variable) the stored secrets are encrypted. */
export const ENCRYPTION_PARAM_ID = "encryption";
const CHECK_TEXT = "basalt-encryption-check";

interface EncryptionParam {
  /** The environment variable the key came from when the data was first encrypted (for error messages). */
  env: string;
  /** A known text sealed with the key: a wrong key is told at start, before any secret is needed. */
  check: string;
}

function parseValue(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}

async function readParam(q: Queryable, id: string): Promise<unknown> {
  const t = q.dialect.quoteIdent;
  const row = await q.get<{ value: unknown }>(
    `SELECT ${t("value")} FROM ${t(PARAMS_TABLE)} WHERE ${t("id")} = ?`,
    [id],
  );
  return row ? parseValue(row.value) : undefined;
}

async function writeParam(q: Queryable, id: string, value: unknown): Promise<void> {
  const t = q.dialect.quoteIdent;
  const now = nowDateTime();
  const json = JSON.stringify(value);
  const { changes } = await q.run(
    `UPDATE ${t(PARAMS_TABLE)} SET ${t("value")} = ?, ${t("updated")} = ? WHERE ${t("id")} = ?`,
    [json, now, id],
  );
  if (!changes) {
    await q.run(
      `INSERT INTO ${t(PARAMS_TABLE)} (${t("id")}, ${t("value")}, ${t("created")}, ${t("updated")}) VALUES (?, ?, ?, ?)`,
      [id, json, now, now],
    );
  }
}

/**
 * Checks the key against the database before anything is loaded (issue 18): once the stored secrets have been
 * encrypted, a start without a key is refused with BASALT_ERR_ENCRYPTION_KEY_MISSING naming the variable they
 * were encrypted from, and a start with another key with BASALT_ERR_ENCRYPTION_KEY_WRONG. A new database
 * passes.
 */
export async function checkEncryptionKey(db: Queryable, box: SecretBox): Promise<void> {
  if (!(await db.tableExists(PARAMS_TABLE))) return;
  const param = (await readParam(db, ENCRYPTION_PARAM_ID)) as Partial<EncryptionParam> | undefined;
  if (!param || typeof param.check !== "string") return;
  if (!box.envHint && typeof param.env === "string") box.envHint = param.env.slice(0, 200);
  // opening the check value throws the coded error for a missing or a wrong key
  if (box.open(param.check) !== CHECK_TEXT) {
    throw new BasaltError("BASALT_ERR_ENCRYPTION_KEY_WRONG", "The check value does not match.");
  }
}

/** What a sealing pass changed. */
export interface SealedCounts {
  settings: boolean;
  collections: number;
}

/**
 * With a key, seals every secret still stored as plaintext in the settings and the collections' OAuth2
 * providers (the first start with a key, or rows an import brought) and records the key's check value; run
 * it in a locked transaction so instances starting together do it once. Opening the sealed ones on the way
 * tells a wrong key (an imported dump sealed with another key) at start.
 */
export async function sealStoredSecrets(tx: Queryable, box: SecretBox): Promise<SealedCounts> {
  if (!box.enabled) return { settings: false, collections: 0 };
  const counts: SealedCounts = { settings: false, collections: 0 };
  // a plaintext value is sealed; a sealed one is opened (a wrong key throws) and kept as it is
  const sealOnce = (v: string): string => {
    if (!isSealed(v)) return box.seal(v);
    box.open(v);
    return v;
  };
  const settings = await readParam(tx, "settings");
  if (settings && mapSettingsSecrets(settings, sealOnce)) {
    await writeParam(tx, "settings", settings);
    counts.settings = true;
  }
  if (await tx.tableExists(COLLECTIONS_TABLE)) {
    for (const c of await loadCollectionRows(tx)) {
      if (mapOAuth2Secrets(c, sealOnce)) {
        await saveCollectionRow(tx, c);
        counts.collections++;
      }
    }
  }
  const param = (await readParam(tx, ENCRYPTION_PARAM_ID)) as Partial<EncryptionParam> | undefined;
  if (!param || typeof param.check !== "string") {
    await writeParam(tx, ENCRYPTION_PARAM_ID, { env: box.envHint, check: box.seal(CHECK_TEXT) });
  }
  return counts;
}
