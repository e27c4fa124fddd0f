import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { registerBatch } from "./batch.js";
import { registerCollections } from "./collections.js";
import { registerHealth } from "./health.js";
import { registerRealtime } from "./realtime.js";
import { registerAuthRefresh } from "./records-auth-refresh.js";
import { registerAuthWithPassword } from "./records-auth-with-password.js";
import { registerRecordsCrud } from "./records-crud.js";
import { registerSettings } from "./settings.js";

/** Registers every API route group on the server. */
export function registerApi(server: FastifyInstance, app: App): void {
  registerHealth(server, app);
  registerCollections(server, app);
  registerAuthWithPassword(server, app);
  registerAuthRefresh(server, app);
  registerRecordsCrud(server, app);
  registerBatch(server, app);
  registerSettings(server, app);
  registerRealtime(server, app);
}
