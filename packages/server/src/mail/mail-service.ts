import type { Logger } from "pino";
import { LogMailer } from "./log-mailer.js";
import type { MailAddress, Mailer } from "./mailer.js";
import { type EmailTemplateText, renderEmail, type TemplateValues } from "./render-email.js";
import { type SmtpConfig, SmtpMailer } from "./smtp-mailer.js";

/** What the mail service reads from the settings on every message. */
export interface MailSettings {
  appName: string;
  appURL: string;
  senderName: string;
  senderAddress: string;
  /** SMTP settings; null or `enabled: false` means messages go to the log. */
  smtp: SmtpConfig | null;
}

/**
 * Sends the application's e-mail off the request path: `send` renders and queues a message and returns at
 * once; delivery failures are logged, never thrown at the caller. `idle()` waits for everything queued
 * (tests, shutdown). The transport follows the settings (SMTP when enabled, the log otherwise) unless a
 * mailer is injected with `useMailer`.
 */
export class MailService {
  private readonly pending = new Set<Promise<void>>();
  private injected: Mailer | null = null;
  private smtp: { key: string; mailer: SmtpMailer } | null = null;
  private readonly logMailer: LogMailer;

  constructor(
    private readonly settings: () => MailSettings,
    private readonly log: Logger,
  ) {
    this.logMailer = new LogMailer(log);
  }

  /** Replaces the transport (null returns to the settings' choice); the service closes it on `close()`. */
  useMailer(mailer: Mailer | null): void {
    this.injected = mailer;
  }

  private transport(smtp: SmtpConfig | null): Mailer {
    if (this.injected) return this.injected;
    if (!smtp?.enabled || !smtp.host) return this.logMailer;
    const key = JSON.stringify(smtp);
    if (this.smtp?.key !== key) {
      void this.smtp?.mailer.close();
      this.smtp = { key, mailer: new SmtpMailer(smtp) };
    }
    return this.smtp.mailer;
  }

  /**
   * Renders a template with the app's placeholders (`APP_NAME`, `APP_URL` from `meta.appURL`, never from the
   * request) plus `values`, and queues it to `to` from the configured sender.
   */
  send(to: MailAddress, template: EmailTemplateText, values: TemplateValues, what = "mail"): void {
    const s = this.settings();
    const { subject, html } = renderEmail(template, {
      APP_NAME: s.appName,
      APP_URL: s.appURL.replace(/\/+$/, ""),
      ...values,
    });
    const mailer = this.transport(s.smtp);
    const job = mailer
      .send({ from: { name: s.senderName, address: s.senderAddress }, to: [to], subject, html })
      .catch((err: unknown) => this.log.error({ err, what }, "failed to send e-mail"))
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Resolves once every queued message has been delivered (or has failed and been logged). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Waits for queued mail, then closes SMTP connections (an injected mailer's too). */
  async close(): Promise<void> {
    await this.idle();
    await this.injected?.close?.();
    await this.smtp?.mailer.close();
    this.smtp = null;
  }
}
