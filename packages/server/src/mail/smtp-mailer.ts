import { createTransport, type Transporter } from "nodemailer";
import type { Settings } from "../core/settings/index.js";
import { htmlToPlainText, type MailAddress, type Mailer, type MailMessage } from "./mailer.js";

/** SMTP settings: the `smtp` group of the application settings (PocketBase's `settings.smtp`). */
export type SmtpConfig = Settings["smtp"];

function mailbox(a: MailAddress): { name: string; address: string } | string {
  return a.name ? { name: a.name, address: a.address } : a.address;
}

/** Delivers e-mail over SMTP with nodemailer, keeping a small pool of connections open. */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(config: SmtpConfig) {
    this.transport = createTransport({
      host: config.host,
      port: config.port,
      secure: config.tls,
      pool: true,
      maxConnections: 2,
      ...(config.localName ? { name: config.localName } : {}),
      ...(config.username
        ? {
            auth: { user: config.username, pass: config.password },
            authMethod: config.authMethod || "PLAIN",
          }
        : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({
      from: mailbox(message.from),
      to: message.to.map(mailbox),
      subject: message.subject,
      html: message.html,
      text: message.text ?? htmlToPlainText(message.html),
    });
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
