import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { claimJobs } from "../../src/jobs/jobs-store.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { deferred, waitFor } from "../harness/wait.js";

// Fast polling and short leases keep the waits small; nothing asserts on time.
const FAST = { jobsPollMs: 20, jobsLeaseMs: 2000 };

describe("durable job queue", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(FAST);
  });
  afterEach(async () => {
    await server.stop();
  });
  const jobs = () => server.basalt.app.jobs;

  it("runs an enqueued job once with its payload and marks it done", async () => {
    const seen: unknown[] = [];
    jobs().handle("greet", ({ payload, attempt }) => {
      seen.push({ payload, attempt });
    });
    const { id, created } = await jobs().enqueue("greet", { name: "Ada", n: [1, 2] });
    expect(created).toBe(true);
    await waitFor(async () => (await jobs().get(id))?.state === "done", "the job to finish");
    expect(seen).toEqual([{ payload: { name: "Ada", n: [1, 2] }, attempt: 1 }]);
    expect(await jobs().get(id)).toMatchObject({
      queue: "greet",
      attempts: 1,
      maxAttempts: 5,
      state: "done",
    });
  });

  it("retries a failing job with backoff and keeps the last error", async () => {
    let calls = 0;
    jobs().handle(
      "flaky",
      () => {
        calls++;
        if (calls < 3) throw new Error(`boom ${calls}`);
      },
      { backoff: { baseMs: 10, maxMs: 40 } },
    );
    const { id } = await jobs().enqueue("flaky", null);
    await waitFor(async () => (await jobs().get(id))?.state === "done", "the job to succeed");
    const job = await jobs().get(id);
    expect(job?.attempts).toBe(3);
    expect(job?.lastError).toContain("boom 2");
    expect(calls).toBe(3);
  });

  it("keeps a job that exhausts its attempts as dead with its last error", async () => {
    jobs().handle(
      "doomed",
      ({ attempt }) => {
        throw new Error(`attempt ${attempt} failed`);
      },
      { backoff: { baseMs: 5, maxMs: 10 } },
    );
    const { id } = await jobs().enqueue("doomed", {}, { maxAttempts: 3 });
    await waitFor(async () => (await jobs().get(id))?.state === "dead", "the job to die");
    const job = await jobs().get(id);
    expect(job).toMatchObject({ attempts: 3, state: "dead" });
    expect(job?.lastError).toContain("attempt 3 failed");
    const stats = await jobs().stats();
    expect(stats.queues.doomed.dead).toBe(1);
    expect(stats.processed.dead).toBeGreaterThanOrEqual(1);
  });

  it("fails an attempt that outlives its timeout and aborts its signal", async () => {
    let aborted = false;
    jobs().handle(
      "slow",
      ({ signal }) =>
        new Promise((resolve) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve(undefined);
          });
        }),
      { timeout: 50 },
    );
    const { id } = await jobs().enqueue("slow", {}, { maxAttempts: 1 });
    await waitFor(async () => (await jobs().get(id))?.state === "dead", "the job to time out");
    expect((await jobs().get(id))?.lastError).toContain("timed out");
    expect(aborted).toBe(true);
  });

  it("makes a second enqueue with the same idempotency key a no-op", async () => {
    const first = await jobs().enqueue("once", { n: 1 }, { idempotencyKey: "order-42" });
    const second = await jobs().enqueue("once", { n: 2 }, { idempotencyKey: "order-42" });
    expect(second).toEqual({ id: first.id, created: false });
    // the same key on another queue is another job
    const other = await jobs().enqueue("twice", { n: 3 }, { idempotencyKey: "order-42" });
    expect(other.created).toBe(true);
    const seen: unknown[] = [];
    jobs().handle("once", ({ payload }) => {
      seen.push(payload);
    });
    await waitFor(async () => (await jobs().get(first.id))?.state === "done", "the job to finish");
    expect(seen).toEqual([{ n: 1 }]);
    expect((await jobs().list({ queue: "once" })).totalItems).toBe(1);
  });

  it("exists only if the enclosing transaction commits", async () => {
    const db = server.basalt.app.db;
    await expect(
      db.transaction(async (tx) => {
        await jobs().enqueue("tx", { n: "rolled back" }, { tx });
        throw new Error("abort the write");
      }),
    ).rejects.toThrow("abort the write");
    const users = server.basalt.app.collections.get("users");
    let jobId = "";
    await server.basalt.app.records.transaction(async (records) => {
      await records.create(users, {
        auth: null,
        body: { email: "tx@example.com", password: "password-123", passwordConfirm: "password-123" },
      });
      jobId = (await jobs().enqueue("tx", { n: "committed" })).id;
    });
    const page = await jobs().list({ queue: "tx" });
    expect(page.items.map((j) => j.payload)).toEqual([{ n: "committed" }]);
    expect(page.items[0].id).toBe(jobId);
  });

  it("runs due jobs by priority and leaves delayed ones waiting", async () => {
    const later = await jobs().enqueue("prio", { n: "later" }, { delay: 3_600_000 });
    await jobs().enqueue("prio", { n: "low" }, { priority: 0 });
    await jobs().enqueue("prio", { n: "high" }, { priority: 10 });
    const order: string[] = [];
    jobs().handle("prio", ({ payload }) => {
      order.push((payload as { n: string }).n);
    });
    await waitFor(() => order.length === 2, "both due jobs");
    expect(order).toEqual(["high", "low"]);
    expect((await jobs().get(later.id))?.state).toBe("pending");
  });

  it("hands a crashed worker's job to another worker once its lease expires", async () => {
    const { id } = await jobs().enqueue("lease", { n: 1 });
    // a worker claims the job and dies: nothing renews its short lease
    const claimed = await claimJobs(server.basalt.app.db, "lease", 1, "dead-worker:x", Date.now(), 50);
    expect(claimed.map((r) => r.id)).toEqual([id]);
    const attempts: number[] = [];
    jobs().handle("lease", ({ attempt }) => {
      attempts.push(attempt);
    });
    await waitFor(async () => (await jobs().get(id))?.state === "done", "the job to be taken over");
    expect(attempts).toEqual([2]);
  });

  it("never runs one job in two workers at once while its lease is renewed", async () => {
    const gate = deferred();
    let running = 0;
    let most = 0;
    const handler = async () => {
      running++;
      most = Math.max(most, running);
      await gate.promise;
      running--;
    };
    jobs().handle("exclusive", handler, { concurrency: 4 });
    const { id } = await jobs().enqueue("exclusive", {});
    await waitFor(() => running === 1, "the job to start");
    // a second claimer, as another process would poll, finds nothing to take while the lease is live
    expect(await claimJobs(server.basalt.app.db, "exclusive", 4, "other:x", Date.now(), 1000)).toEqual([]);
    gate.resolve();
    await waitFor(async () => (await jobs().get(id))?.state === "done", "the job to finish");
    expect(most).toBe(1);
  });

  it("on shutdown hands a still-running job back to the queue without counting the attempt", async () => {
    const started = deferred();
    jobs().handle("stuck", async ({ signal }) => {
      started.resolve();
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
    });
    const { id } = await jobs().enqueue("stuck", {});
    await started.promise;
    await jobs().stop(50);
    expect(await jobs().get(id)).toMatchObject({ state: "pending", attempts: 0 });
  });
});

describe("jobs operations API", () => {
  let server: TestServer;
  let token: string;
  beforeEach(async () => {
    server = await startServer(FAST);
    token = await superuserToken(server);
  });
  afterEach(async () => {
    await server.stop();
  });

  it("is for superusers only", async () => {
    expect((await server.fetch("/api/jobs")).status).toBe(401);
    expect((await server.fetch("/api/jobs/stats")).status).toBe(401);
    expect((await server.fetch("/api/jobs/x/retry", { method: "POST" })).status).toBe(401);
  });

  it("lists jobs by queue and state, retries a dead job and cancels a pending one", async () => {
    const jobs = server.basalt.app.jobs;
    let fail = true;
    jobs.handle(
      "ops",
      () => {
        if (fail) throw new Error("not yet");
      },
      { backoff: { baseMs: 5, maxMs: 5 } },
    );
    const dead = await jobs.enqueue("ops", { n: 1 }, { maxAttempts: 1 });
    const waiting = await jobs.enqueue("later", { n: 2 }, { delay: 3_600_000 });
    await waitFor(async () => (await jobs.get(dead.id))?.state === "dead", "the job to die");

    const list = await server.fetch("/api/jobs?state=dead", { token });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { totalItems: number; items: { id: string; lastError: string }[] };
    expect(body.totalItems).toBe(1);
    expect(body.items[0]).toMatchObject({ id: dead.id, queue: "ops", state: "dead", payload: { n: 1 } });
    expect(body.items[0].lastError).toContain("not yet");
    const byQueue = (await (await server.fetch("/api/jobs?queue=later", { token })).json()) as {
      items: { id: string }[];
    };
    expect(byQueue.items.map((j) => j.id)).toEqual([waiting.id]);
    expect((await server.fetch("/api/jobs?state=bogus", { token })).status).toBe(400);

    const stats = (await (await server.fetch("/api/jobs/stats", { token })).json()) as {
      queues: Record<string, { pending: number; dead: number }>;
    };
    expect(stats.queues.ops.dead).toBe(1);
    expect(stats.queues.later.pending).toBe(1);

    fail = false;
    expect((await server.fetch(`/api/jobs/${dead.id}/retry`, { method: "POST", token })).status).toBe(204);
    await waitFor(async () => (await jobs.get(dead.id))?.state === "done", "the retried job to run");
    expect((await server.fetch(`/api/jobs/${dead.id}/cancel`, { method: "POST", token })).status).toBe(400);

    expect((await server.fetch(`/api/jobs/${waiting.id}/cancel`, { method: "POST", token })).status).toBe(
      204,
    );
    expect((await jobs.get(waiting.id))?.state).toBe("cancelled");
    expect((await server.fetch("/api/jobs/missing", { token })).status).toBe(404);
    expect((await server.fetch("/api/jobs/missing/retry", { method: "POST", token })).status).toBe(404);
  });
});
