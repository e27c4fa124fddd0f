import type { Database, SqlValue } from "../db/index.js";
import { badRequest } from "../errors/index.js";
import {
  buildCount,
  buildSelect,
  type CompiledFilter,
  compileFilter,
  compileSort,
  EMPTY_REQUEST,
  FilterError,
  type RuleSchema,
} from "../rules/index.js";
import { ensureLogsTable, LOGS_RULE_COLLECTION, LOGS_TABLE } from "./logs-table.js";

/** A stored log entry in PocketBase's JSON shape. */
export interface LogRow {
  id: string;
  created: string;
  level: number;
  message: string;
  data: Record<string, unknown>;
}

/** One hour's count of matching entries (`date` is the hour, in PocketBase's datetime format). */
export interface LogsStatsItem {
  date: string;
  total: number;
}

/** The list query `/api/logs` accepts. */
export interface LogsQuery {
  filter: string;
  sort: string;
  page: number;
  perPage: number;
  skipTotal: boolean;
}

const ALIAS = "l";
const INSERT_CHUNK = 50;
const SCHEMA: RuleSchema = { get: (n) => (n === LOGS_TABLE ? LOGS_RULE_COLLECTION : undefined) };

function toRow(raw: Record<string, unknown>): LogRow {
  let data = raw.data;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data) as unknown;
    } catch {
      data = {};
    }
  }
  return {
    id: String(raw.id),
    created: String(raw.created),
    level: Number(raw.level),
    message: String(raw.message),
    data: (data ?? {}) as Record<string, unknown>,
  };
}

/**
 * The log table of the auxiliary store: batched inserts, and the queries of PocketBase's logs API with its
 * filter syntax over `id, created, level, message, data.*` (compiled to bound SQL, never spliced).
 */
export class LogsStore {
  constructor(readonly db: Database) {}

  /** Creates the table when missing. */
  init(): Promise<void> {
    return ensureLogsTable(this.db);
  }

  /** Writes entries in one transaction, a few multi-row INSERTs per batch. */
  async insert(rows: readonly LogRow[]): Promise<void> {
    if (rows.length === 0) return;
    const q = this.db.dialect.quoteIdent;
    const head = `INSERT INTO ${q(LOGS_TABLE)} (${["id", "created", "level", "message", "data"].map(q).join(", ")}) VALUES `;
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK);
        const params: SqlValue[] = [];
        for (const r of chunk) params.push(r.id, r.created, r.level, r.message, JSON.stringify(r.data));
        await tx.run(head + chunk.map(() => "(?, ?, ?, ?, ?)").join(", "), params);
      }
    });
  }

  private filters(text: string): CompiledFilter[] {
    if (!text.trim()) return [];
    try {
      return [
        compileFilter({
          dialect: this.db.dialect,
          schema: SCHEMA,
          collection: LOGS_RULE_COLLECTION,
          alias: ALIAS,
          text,
          request: EMPTY_REQUEST,
          mode: "client",
          isSuperuser: true,
        }),
      ];
    } catch (err) {
      if (err instanceof FilterError) throw badRequest("Invalid filter format.", {}, err);
      throw err;
    }
  }

  /** One page of entries; the default order is insertion order, as PocketBase's. */
  async list(opts: LogsQuery): Promise<{ items: LogRow[]; totalItems: number | null }> {
    const d = this.db.dialect;
    const filters = this.filters(opts.filter);
    let sort: ReturnType<typeof compileSort>;
    try {
      sort = compileSort({
        dialect: d,
        schema: SCHEMA,
        collection: LOGS_RULE_COLLECTION,
        alias: ALIAS,
        text: opts.sort.trim() || "@rowid",
        request: EMPTY_REQUEST,
        isSuperuser: true,
      });
    } catch (err) {
      if (err instanceof FilterError) throw badRequest("Invalid sort format.", {}, err);
      throw err;
    }
    const q = d.quoteIdent;
    const columns = ["id", "created", "level", "message", "data"]
      .map((c) => `${q(ALIAS)}.${q(c)}`)
      .join(", ");
    const select = buildSelect({
      dialect: d,
      table: LOGS_TABLE,
      alias: ALIAS,
      columns,
      filters,
      sort,
      limit: opts.perPage,
      offset: (opts.page - 1) * opts.perPage,
    });
    const items = (await this.db.all(select.sql, select.params)).map(toRow);
    if (opts.skipTotal) return { items, totalItems: null };
    const count = buildCount({ dialect: d, table: LOGS_TABLE, alias: ALIAS, filters });
    const total = await this.db.get<{ count: number }>(count.sql, count.params);
    return { items, totalItems: Number(total?.count ?? 0) };
  }

  /** Matching entries counted per hour, oldest hour first. */
  async stats(filter: string): Promise<LogsStatsItem[]> {
    const d = this.db.dialect;
    const q = d.quoteIdent;
    const filters = this.filters(filter);
    // `created` is `YYYY-MM-DD HH:MM:SS.mmmZ` text: its first 13 characters name the hour on every engine
    const hour = `SUBSTR(${q(ALIAS)}.${q("created")}, 1, 13)`;
    const base = buildSelect({
      dialect: d,
      table: LOGS_TABLE,
      alias: ALIAS,
      columns: `${hour} AS ${q("hour")}, COUNT(*) AS ${q("total")}`,
      filters,
    });
    const rows = await this.db.all<{ hour: string; total: number | string }>(
      `${base.sql} GROUP BY ${hour} ORDER BY ${hour}`,
      base.params,
    );
    return rows.map((r) => ({ date: `${r.hour}:00:00.000Z`, total: Number(r.total) }));
  }

  /** One entry by id. */
  async one(id: string): Promise<LogRow | undefined> {
    const q = this.db.dialect.quoteIdent;
    const raw = await this.db.get(
      `SELECT ${["id", "created", "level", "message", "data"].map(q).join(", ")} FROM ${q(LOGS_TABLE)} WHERE ${q("id")} = ?`,
      [id],
    );
    return raw ? toRow(raw) : undefined;
  }

  /** Deletes every entry. */
  async truncate(): Promise<void> {
    await this.db.run(`DELETE FROM ${this.db.dialect.quoteIdent(LOGS_TABLE)}`);
  }

  /** Deletes the entries created before a datetime (PocketBase's format); returns how many. */
  async deleteBefore(created: string): Promise<number> {
    const q = this.db.dialect.quoteIdent;
    const r = await this.db.run(`DELETE FROM ${q(LOGS_TABLE)} WHERE ${q("created")} < ?`, [created]);
    return r.changes;
  }
}
