import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import type { RecordRow } from "../../core/records/index.js";
import type { EmailTemplateText, TemplateValues } from "../../mail/index.js";

/** Which of an auth collection's e-mails is sent (picks its mailer hook). */
export type RecordEmailKind = "verification" | "password reset" | "email change" | "otp" | "auth alert";

/** Queues one of a collection's e-mails to an address, with the record's fields as `{RECORD:name}` values. */
export function sendRecordEmail(
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  to: string,
  template: EmailTemplateText,
  values: TemplateValues,
  what: RecordEmailKind,
): void {
  const recordValues: Record<string, string> = {};
  for (const f of collection.fields) {
    if (f.type === "password" || f.name === "tokenKey" || f.hidden) continue;
    const v = record[f.name];
    if (typeof v === "string" || typeof v === "number") recordValues[`RECORD:${f.name}`] = String(v);
  }
  const hooks = app.hooks;
  const hook =
    what === "verification"
      ? hooks.onMailerRecordVerificationSend
      : what === "password reset"
        ? hooks.onMailerRecordPasswordResetSend
        : what === "email change"
          ? hooks.onMailerRecordEmailChangeSend
          : what === "otp"
            ? hooks.onMailerRecordOTPSend
            : hooks.onMailerRecordAuthAlertSend;
  app.mail.send({ address: to }, template, { ...recordValues, ...values }, what, {
    hook,
    collection,
    record,
  });
}
