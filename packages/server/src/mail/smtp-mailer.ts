import type { Transporter } from "nodemailer";
import type { Settings } from "../core/settings/index.js";
import { lazyImport } from "../util/index.js";
import { htmlToPlainText, type MailAddress, type Mailer, type MailMessage } from "./mailer.js";

/** SMTP settings: the `smtp` group of the application settings (PocketBase's `settings.smtp`). */
export type SmtpConfig = Settings["smtp"];

// nodemailer is loaded when the first message goes out over SMTP, not at start-up (issue 19: memory)
const loadNodemailer = lazyImport("nodemailer", "sending e-mail over SMTP", () => import("nodemailer"));

function mailbox(a: MailAddress): { name: string; address: string } | string {
  return a.name ? { name: a.name, address: a.address } : a.address;
}

/** Delivers e-mail over SMTP with nodemailer, keeping a small pool of connections open. */
export class SmtpMailer implements Mailer {
  /** The pooled transport, made on the first message. */
  private transport: Promise<Transporter> | null = null;

  constructor(private readonly config: SmtpConfig) {}

  private async open(): Promise<Transporter> {
    const { createTransport } = await loadNodemailer();
    const config = this.config;
    return createTransport({
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
    if (!this.transport) {
      this.transport = this.open();
      // a failed load is not kept: the next message tries again
      this.transport.catch(() => {
        this.transport = null;
      });
    }
    const transport = await this.transport;
    await transport.sendMail({
      from: mailbox(message.from),
      to: message.to.map(mailbox),
      subject: message.subject,
      html: message.html,
      text: message.text ?? htmlToPlainText(message.html),
    });
  }

  async close(): Promise<void> {
    const transport = this.transport;
    this.transport = null;
    (await transport?.catch(() => null))?.close();
  }
}
