import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { registerBatch } from "./batch.js";
import { registerCollections } from "./collections.js";
import { registerCrons } from "./crons.js";
import { registerFiles } from "./files.js";
import { registerHealth } from "./health.js";
import { registerJobs } from "./jobs.js";
import { registerRateLimits } from "./rate-limit.js";
import { registerRealtime } from "./realtime.js";
import { registerAuthEmailChange } from "./records-auth-email-change.js";
import { registerAuthImpersonate } from "./records-auth-impersonate.js";
import { registerAuthMethods } from "./records-auth-methods.js";
import { registerOAuth2Redirect } from "./records-auth-oauth2-redirect.js";
import { registerAuthOtp } from "./records-auth-otp.js";
import { registerAuthPasswordReset } from "./records-auth-password-reset.js";
import { registerAuthRefresh } from "./records-auth-refresh.js";
import { registerAuthVerification } from "./records-auth-verification.js";
import { registerAuthWithOAuth2 } from "./records-auth-with-oauth2.js";
import { registerAuthWithPassword } from "./records-auth-with-password.js";
import { registerRecordsCrud } from "./records-crud.js";
import { registerSettings } from "./settings.js";
import { registerWebhooks } from "./webhooks.js";

/** Registers every API route group on the server. */
export function registerApi(server: FastifyInstance, app: App): void {
  registerRateLimits(server, app);
  registerHealth(server, app);
  registerCollections(server, app);
  registerAuthWithPassword(server, app);
  registerAuthRefresh(server, app);
  registerAuthMethods(server, app);
  registerAuthVerification(server, app);
  registerAuthPasswordReset(server, app);
  registerAuthEmailChange(server, app);
  registerAuthOtp(server, app);
  registerAuthWithOAuth2(server, app);
  registerOAuth2Redirect(server, app);
  registerAuthImpersonate(server, app);
  registerRecordsCrud(server, app);
  registerBatch(server, app);
  registerSettings(server, app);
  registerRealtime(server, app);
  registerJobs(server, app);
  registerCrons(server, app);
  registerFiles(server, app);
  registerWebhooks(server, app);
}
