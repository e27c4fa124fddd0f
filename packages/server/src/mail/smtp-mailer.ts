import { createTransport, type Transporter } from "nodemailer";
import { htmlToPlainText, type MailAddress, type Mailer, type MailMessage } from "./mailer.js";

/** SMTP settings, in the shape of PocketBase's `settings.smtp`. */
export interface SmtpConfig {
  enabled: boolean;
  host: string;
  port: number;
  username: string;
  password: string;
  /** `PLAIN` (default) or `LOGIN`. */
  authMethod: string;
  /** Implicit TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
  tls: boolean;
  /** The name sent in EHLO; the machine's host name when empty. */
  localName: string;
}

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
