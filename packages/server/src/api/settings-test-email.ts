import type { FastifyInstance } from "fastify";
import { requiredEmail } from "../auth/flows/index.js";
import { newTokenKey } from "../auth/index.js";
import type { App } from "../core/app.js";
import { type AuthCollection, isAuthCollection } from "../core/collections/index.js";
import type { RecordRow } from "../core/records/index.js";
import { badRequest, type ErrorData, fieldError } from "../errors/index.js";
import type { EmailTemplateText, TemplateValues } from "../mail/index.js";
import { formatDateTime } from "../util/index.js";
import { bodyObject, requireSuperuser } from "./guards.js";

const TEMPLATES = ["verification", "password-reset", "email-change", "otp", "login-alert"] as const;
type TestTemplate = (typeof TEMPLATES)[number];

/** The template of a collection a test e-mail uses, and the placeholder values PocketBase fills in. */
function testMessage(
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  template: TestTemplate,
  to: string,
): { text: EmailTemplateText; values: TemplateValues } {
  const token = (type: "verification" | "passwordReset" | "emailChange") =>
    app.auth.newToken(collection, record, type, {
      email: to,
      ...(type === "emailChange" ? { newEmail: to } : {}),
    });
  switch (template) {
    case "verification":
      return { text: collection.verificationTemplate, values: { TOKEN: token("verification") } };
    case "password-reset":
      return { text: collection.resetPasswordTemplate, values: { TOKEN: token("passwordReset") } };
    case "email-change":
      return { text: collection.confirmEmailChangeTemplate, values: { TOKEN: token("emailChange") } };
    case "otp":
      return { text: collection.otp.emailTemplate, values: { OTP: "123456", OTP_ID: "_PB_TEST_OTP_ID_" } };
    case "login-alert":
      return {
        text: collection.authAlert.emailTemplate,
        values: { ALERT_INFO: `${formatDateTime(new Date())} - TEST_IP TEST_USER_AGENT` },
      };
  }
}

/**
 * `POST /api/settings/test/email` (superusers; `pb.settings.testEmail`): renders one of an auth collection's
 * e-mail templates (`_superusers` by default) for a made-up record and sends it to `email` through the
 * configured transport (SMTP, or the log), waiting for the outcome: 204, or PocketBase's 400 with the
 * transport's error.
 */
export function registerSettingsTestEmail(server: FastifyInstance, app: App): void {
  server.post("/api/settings/test/email", async (request, reply) => {
    requireSuperuser(request);
    const { email, template, collection: given } = bodyObject(request);
    const errors: ErrorData = {};
    let collection: AuthCollection | undefined;
    if (given !== undefined && given !== "") {
      const c = typeof given === "string" && given.length <= 255 ? app.collections.find(given) : undefined;
      if (c && isAuthCollection(c)) collection = c;
      else
        errors.collection = fieldError(
          "validation_invalid_auth_collection",
          "Must be a valid auth collection id or name.",
        );
    }
    const emailErr = requiredEmail(email);
    if (emailErr) errors.email = emailErr;
    if (template === undefined || template === "")
      errors.template = fieldError("validation_required", "Cannot be blank.");
    else if (!TEMPLATES.includes(template as TestTemplate))
      errors.template = fieldError("validation_in_invalid", "Must be a valid value.");
    if (Object.keys(errors).length) throw badRequest("Failed to send the test email.", errors);
    collection ??= app.collections.get("_superusers") as AuthCollection;
    const record: RecordRow = { id: "__pb_test_id__", tokenKey: newTokenKey(), email: email as string };
    const values: Record<string, string> = {};
    for (const f of collection.fields) {
      if (f.hidden || f.type === "password" || f.name === "tokenKey") continue;
      values[`RECORD:${f.name}`] = f.name === "email" ? (email as string) : `__pb_test_${f.name}__`;
    }
    const message = testMessage(app, collection, record, template as TestTemplate, email as string);
    try {
      await app.mail.deliver({ address: email as string }, message.text, { ...values, ...message.values });
    } catch (err) {
      throw badRequest(
        `Failed to send the test email. Raw error: \n${err instanceof Error ? err.message : String(err)}`,
        {},
        err,
      );
    }
    return reply.status(204).send();
  });
}
