import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { badRequest, notFound } from "../errors/index.js";
import { JOB_STATES, type JobState } from "../jobs/index.js";
import { requireSuperuser } from "./guards.js";
import { readListParams } from "./list-params.js";

function param(query: unknown, name: string): string {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  return typeof value === "string" ? value : "";
}

/**
 * The job queue's operations routes (superusers): `GET /api/jobs?queue=&state=` (a page, newest first),
 * `GET /api/jobs/{id}`, `POST /api/jobs/{id}/retry` (dead, cancelled or done → pending with fresh attempts)
 * and `POST /api/jobs/{id}/cancel` (pending or running), plus `GET /api/jobs/stats` (queue depth, oldest due
 * job's age, this process's job and webhook outcome counters).
 */
export function registerJobs(server: FastifyInstance, app: App): void {
  server.get("/api/jobs", async (request) => {
    requireSuperuser(request);
    const { page, perPage } = readListParams(request.query);
    const queue = param(request.query, "queue");
    const state = param(request.query, "state");
    if (state && !JOB_STATES.includes(state as JobState)) {
      throw badRequest(`Invalid "state" query parameter: one of ${JOB_STATES.join(", ")}.`);
    }
    return app.jobs.list(
      { queue: queue || undefined, state: (state || undefined) as JobState | undefined },
      page,
      perPage,
    );
  });

  server.get("/api/jobs/stats", async (request) => {
    requireSuperuser(request);
    return { ...(await app.jobs.stats()), webhooks: { ...app.webhooks.outcomes } };
  });

  server.get<{ Params: { id: string } }>("/api/jobs/:id", async (request) => {
    requireSuperuser(request);
    const job = await app.jobs.get(request.params.id);
    if (!job) throw notFound();
    return job;
  });

  server.post<{ Params: { id: string } }>("/api/jobs/:id/retry", async (request, reply) => {
    requireSuperuser(request);
    const job = await app.jobs.get(request.params.id);
    if (!job) throw notFound();
    if (!(await app.jobs.retry(job.id))) throw badRequest(`A ${job.state} job cannot be retried.`);
    return reply.code(204).send();
  });

  server.post<{ Params: { id: string } }>("/api/jobs/:id/cancel", async (request, reply) => {
    requireSuperuser(request);
    const job = await app.jobs.get(request.params.id);
    if (!job) throw notFound();
    if (!(await app.jobs.cancel(job.id))) throw badRequest(`A ${job.state} job cannot be cancelled.`);
    return reply.code(204).send();
  });
}
