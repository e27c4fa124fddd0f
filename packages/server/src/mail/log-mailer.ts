import type { Logger } from "pino";
import { htmlToPlainText, type Mailer, type MailMessage } from "./mailer.js";

/**
 * The mailer used while no SMTP server is configured: each message is written to the log (links included),
 * so a developer can still follow a verification or reset link.
 */
export class LogMailer implements Mailer {
  constructor(private readonly log: Logger) {}

  async send(message: MailMessage): Promise<void> {
    this.log.info(
      {
        mail: {
          from: message.from.address,
          to: message.to.map((t) => t.address),
          subject: message.subject,
          text: message.text ?? htmlToPlainText(message.html),
        },
      },
      "e-mail not sent (SMTP is not configured); logged instead",
    );
  }
}
