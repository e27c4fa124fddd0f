import type { Queryable, SqlValue } from "../db/index.js";
import { newRecordId } from "../util/index.js";
import { JOBS_TABLE, type JobState } from "./jobs-table.js";

/** A `_jobs` row as the drivers return it. */
export interface JobRow {
  id: string;
  queue: string;
  payload: string | null;
  state: JobState;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_until: number;
  locked_by: string;
  last_error: string;
  idempotency_key: string | null;
  created: number;
  updated: number;
  /** The W3C `traceparent` of the span that enqueued the job ("" when not traced). */
  trace?: string;
}

/** What a new job row is made of. */
export interface NewJob {
  queue: string;
  payload: unknown;
  runAt: number;
  priority: number;
  maxAttempts: number;
  idempotencyKey: string | null;
  /** The enqueuing span's `traceparent`, or "". */
  trace: string;
}

const T = JOBS_TABLE;

/**
 * Inserts a pending job; with an idempotency key that its queue already holds, inserts nothing and returns
 * the existing job's id (`created: false`).
 */
export async function insertJob(
  q: Queryable,
  job: NewJob,
  now: number,
): Promise<{ id: string; created: boolean }> {
  const id = newRecordId();
  const { changes } = await q.run(
    `INSERT INTO ${T} (id, queue, payload, state, priority, attempts, max_attempts, run_at, lease_until, locked_by, last_error, idempotency_key, created, updated, trace) ` +
      "VALUES (?, ?, ?, 'pending', ?, 0, ?, ?, 0, '', '', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    [
      id,
      job.queue,
      JSON.stringify(job.payload ?? null),
      job.priority,
      job.maxAttempts,
      job.runAt,
      job.idempotencyKey,
      now,
      now,
      job.trace,
    ],
  );
  if (changes > 0 || job.idempotencyKey === null) return { id, created: changes > 0 };
  const existing = await q.get<{ id: string }>(
    `SELECT id FROM ${T} WHERE queue = ? AND idempotency_key = ?`,
    [job.queue, job.idempotencyKey],
  );
  return { id: existing?.id ?? id, created: false };
}

/**
 * Claims up to `limit` runnable jobs of a queue for one worker, in one transaction: pending jobs that are
 * due, and running jobs whose lease has expired (their worker died) with attempts left. Each claimed job is
 * marked running with a new lease, its attempt counted and `locked_by` set to the claim's token, which
 * every later change must present (a worker that lost its lease cannot complete the job).
 */
export function claimJobs(
  db: Queryable,
  queue: string,
  limit: number,
  token: string,
  now: number,
  leaseMs: number,
): Promise<JobRow[]> {
  const sql =
    `WITH picked AS (SELECT id FROM ${T} WHERE queue = ? AND ((state = 'pending' AND run_at <= ?) ` +
    "OR (state = 'running' AND lease_until < ? AND attempts < max_attempts)) " +
    `ORDER BY priority DESC, run_at, id LIMIT ?${db.dialect.skipLockedClause}) ` +
    `UPDATE ${T} SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated = ? ` +
    "WHERE id IN (SELECT id FROM picked) RETURNING *";
  const params: SqlValue[] = [queue, now, now, limit, now + leaseMs, token, now];
  return db.transaction((tx) => tx.all<JobRow>(sql, params));
}

/** Marks a claimed job done; false when the claim was lost (lease expired and taken, or cancelled). */
export async function completeJob(q: Queryable, id: string, token: string, now: number): Promise<boolean> {
  const { changes } = await q.run(
    `UPDATE ${T} SET state = 'done', lease_until = 0, updated = ? WHERE id = ? AND locked_by = ? AND state = 'running'`,
    [now, id, token],
  );
  return changes > 0;
}

/** Records a failed attempt: back to pending at `retryAt`, or dead when `retryAt` is null. */
export async function failJob(
  q: Queryable,
  id: string,
  token: string,
  error: string,
  retryAt: number | null,
  now: number,
): Promise<boolean> {
  const { changes } = await q.run(
    `UPDATE ${T} SET state = ?, run_at = ?, lease_until = 0, last_error = ?, updated = ? ` +
      "WHERE id = ? AND locked_by = ? AND state = 'running'",
    [retryAt === null ? "dead" : "pending", retryAt ?? now, error, now, id, token],
  );
  return changes > 0;
}

/** Extends a running job's lease (the worker's heartbeat); false when the claim was lost. */
export async function renewLease(q: Queryable, id: string, token: string, until: number): Promise<boolean> {
  const { changes } = await q.run(
    `UPDATE ${T} SET lease_until = ? WHERE id = ? AND locked_by = ? AND state = 'running'`,
    [until, id, token],
  );
  return changes > 0;
}

/** Hands a running job back to the queue without counting the attempt (a clean shutdown). */
export async function releaseJob(q: Queryable, id: string, token: string, now: number): Promise<void> {
  await q.run(
    `UPDATE ${T} SET state = 'pending', attempts = attempts - 1, lease_until = 0, run_at = ?, updated = ? ` +
      "WHERE id = ? AND locked_by = ? AND state = 'running'",
    [now, now, id, token],
  );
}

/**
 * Housekeeping: a running job whose lease expired after its last attempt becomes dead (its worker crashed
 * every time), and finished jobs older than the retention are deleted.
 */
export async function sweepJobs(db: Queryable, now: number, retentionMs: number): Promise<void> {
  await db.run(
    `UPDATE ${T} SET state = 'dead', last_error = ?, updated = ? ` +
      "WHERE state = 'running' AND lease_until < ? AND attempts >= max_attempts",
    ["the lease expired during the last attempt (the worker stopped or stalled)", now, now],
  );
  await db.run(`DELETE FROM ${T} WHERE state IN ('done', 'cancelled') AND updated < ?`, [now - retentionMs]);
}

/** One job by id. */
export function getJobRow(q: Queryable, id: string): Promise<JobRow | undefined> {
  return q.get<JobRow>(`SELECT * FROM ${T} WHERE id = ?`, [id]);
}

/** A page of jobs, newest first, optionally of one queue and/or state. */
export async function listJobRows(
  q: Queryable,
  filter: { queue?: string; state?: JobState },
  page: number,
  perPage: number,
): Promise<{ items: JobRow[]; total: number }> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.queue) {
    where.push("queue = ?");
    params.push(filter.queue);
  }
  if (filter.state) {
    where.push("state = ?");
    params.push(filter.state);
  }
  const w = where.length ? ` WHERE ${where.join(" AND ")}` : "";
  const items = await q.all<JobRow>(
    `SELECT * FROM ${T}${w} ORDER BY created DESC, id DESC LIMIT ? OFFSET ?`,
    [...params, perPage, (page - 1) * perPage],
  );
  const count = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${T}${w}`, params);
  return { items, total: Number(count?.n ?? 0) };
}

/** Puts a dead, cancelled or done job back in the queue with a fresh set of attempts. */
export async function retryJobRow(q: Queryable, id: string, now: number): Promise<boolean> {
  const { changes } = await q.run(
    `UPDATE ${T} SET state = 'pending', attempts = 0, run_at = ?, lease_until = 0, locked_by = '', updated = ? ` +
      "WHERE id = ? AND state IN ('dead', 'cancelled', 'done')",
    [now, now, id],
  );
  return changes > 0;
}

/** Cancels a pending or running job (a running handler is not interrupted; its outcome is ignored). */
export async function cancelJobRow(q: Queryable, id: string, now: number): Promise<boolean> {
  const { changes } = await q.run(
    `UPDATE ${T} SET state = 'cancelled', lease_until = 0, updated = ? WHERE id = ? AND state IN ('pending', 'running')`,
    [now, id],
  );
  return changes > 0;
}

/** Per queue and state: how many jobs, and the earliest due time (for pending: the oldest job's age). */
export function countJobs(
  q: Queryable,
): Promise<{ queue: string; state: JobState; n: number; oldest: number | null }[]> {
  return q.all(
    `SELECT queue, state, COUNT(*) AS n, MIN(run_at) AS oldest FROM ${T} ` +
      "WHERE state IN ('pending', 'running', 'dead') GROUP BY queue, state",
  );
}

/** True when a queue has a job that is due or running. */
export async function queueBusy(q: Queryable, queue: string, now: number): Promise<boolean> {
  const row = await q.get(
    `SELECT 1 AS x FROM ${T} WHERE queue = ? AND (state = 'running' OR (state = 'pending' AND run_at <= ?)) LIMIT 1`,
    [queue, now],
  );
  return row !== undefined;
}
