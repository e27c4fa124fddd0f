// Recipe: a welcome e-mail after sign-up. After the commit (a rolled-back sign-up sends nothing), through
// the configured mailer and the durable mail queue.
import type { HookApi } from "basalt";

export default function (app: HookApi) {
  app.onRecordAfterCreateSuccess(
    (e) => {
      app.mail.send({
        to: String(e.record.email),
        subject: "Welcome aboard",
        html: `<p>Hello ${String(e.record.name || "there")}, your account is ready.</p>`,
      });
      return e.next();
    },
    { collections: ["users"] },
  );
}
