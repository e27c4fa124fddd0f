import type { Logger } from "pino";
import type { Collection } from "../core/collections/index.js";
import type { MailerEvent, MailerRecordEvent } from "../core/events.js";
import type { Hook } from "../core/hook.js";
import type { RecordRow } from "../core/records/index.js";
import type { JobsService } from "../jobs/index.js";
import { NO_TRACER, type SpanTracer } from "../util/index.js";
import { LogMailer } from "./log-mailer.js";
import type { MailAddress, Mailer, MailMessage } from "./mailer.js";
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

/** One of an auth record's e-mails: its hook (`onMailerRecord…Send`) runs before `onMailerSend`. */
export interface RecordMailContext {
  readonly hook: Hook<MailerRecordEvent>;
  readonly collection: Collection;
  readonly record: RecordRow;
}

/** An e-mail from code: `to` as addresses or mailboxes; the sender is the configured one unless given. */
export interface OutgoingMail {
  readonly to: string | MailAddress | readonly (string | MailAddress)[];
  readonly subject: string;
  readonly html: string;
  readonly text?: string;
  readonly from?: MailAddress;
}

/** The job queue e-mail goes through. */
export const MAIL_QUEUE = "_mail";

/** How many times a message is tried before its job is kept as dead. */
const MAIL_ATTEMPTS = 8;

/**
 * Sends the application's e-mail off the request path: `send` renders a message and hands it to the job
 * queue (`_mail`), so a slow, failing or unreachable SMTP server never delays or fails the request, and a
 * message that fails is retried with backoff (and survives a restart). Without a job queue (CLI tools) it
 * delivers in the background instead. `idle()` waits until nothing queued is due or being sent (tests,
 * shutdown). The transport follows the settings (SMTP when enabled, the log otherwise) unless a mailer is
 * injected with `useMailer`.
 */
export class MailService {
  private readonly pending = new Set<Promise<void>>();
  private injected: Mailer | null = null;
  private smtp: { key: string; mailer: SmtpMailer } | null = null;
  private readonly logMailer: LogMailer;

  constructor(
    private readonly settings: () => MailSettings,
    private readonly log: Logger,
    private readonly jobs: JobsService | null = null,
    private readonly tracer: SpanTracer = NO_TRACER,
    private readonly sendHook: Hook<MailerEvent> | null = null,
  ) {
    this.logMailer = new LogMailer(log);
  }

  /** Starts delivering the queued messages in this process. */
  start(): void {
    this.jobs?.handle<MailMessage>(
      MAIL_QUEUE,
      async ({ payload }) => {
        const smtp = this.settings().smtp;
        await this.tracer.span(
          "email send",
          { "basalt.mail.transport": smtp?.enabled ? "smtp" : "log" },
          () => this.transport(smtp).send(payload),
        );
      },
      { concurrency: 2, timeout: 60_000, backoff: { baseMs: 2000, maxMs: 600_000 } },
    );
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
   * request) plus `values`, and queues it to `to` from the configured sender. Nothing happens before the
   * current turn of the event loop is over: a route's answer is written in that turn, so rendering and
   * queueing come after the reply and a request that mails answers as fast as one that does not (no
   * account-existence oracle by timing, issue 10).
   */
  send(
    to: MailAddress,
    template: EmailTemplateText,
    values: TemplateValues,
    what = "mail",
    record?: RecordMailContext,
  ): void {
    this.hand(
      new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        const s = this.settings();
        const { subject, html } = renderEmail(template, {
          APP_NAME: s.appName,
          APP_URL: s.appURL.replace(/\/+$/, ""),
          ...values,
        });
        const message: MailMessage = {
          from: { name: s.senderName, address: s.senderAddress },
          to: [to],
          subject,
          html,
        };
        return message;
      }),
      what,
      record,
    );
  }

  /**
   * Queues an e-mail written in code (hooks, routes), through `onMailerSend` like the app's own e-mail.
   * @example app.mail.sendMessage({ to: "ada@example.com", subject: "Welcome", html: "<p>Hello</p>" })
   */
  sendMessage(mail: OutgoingMail): void {
    const s = this.settings();
    const list = Array.isArray(mail.to) ? mail.to : [mail.to];
    const message: MailMessage = {
      from: mail.from ?? { name: s.senderName, address: s.senderAddress },
      to: list.map((t) => (typeof t === "string" ? { address: t } : t)),
      subject: mail.subject,
      html: mail.html,
      ...(mail.text !== undefined ? { text: mail.text } : {}),
    };
    this.hand(Promise.resolve(message), "mail");
  }

  /** Runs the mailer hooks, then queues what they let through; `idle()` waits for it. */
  private hand(message: Promise<MailMessage>, what: string, record?: RecordMailContext): void {
    const job = message
      .then((m) => this.viaHooks(m, record))
      .then((final) => {
        if (!final) return;
        return this.jobs
          ? this.jobs.enqueue(MAIL_QUEUE, final, { maxAttempts: MAIL_ATTEMPTS }).then(() => undefined)
          : this.transport(this.settings().smtp).send(final);
      })
      .catch((err: unknown) => this.log.error({ err, what }, "failed to send e-mail"))
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** The message the mailer hooks let through (possibly changed), or null when one stopped the chain. */
  private async viaHooks(message: MailMessage, record?: RecordMailContext): Promise<MailMessage | null> {
    const send = this.sendHook;
    const recordHook = record?.hook.hasFor(record.collection) ? record.hook : null;
    if (!recordHook && !send?.length) return message;
    let out: MailMessage | null = null;
    const general = async (m: MailMessage) => {
      if (!send?.length) {
        out = m;
        return;
      }
      await send.trigger({ message: m }, (e) => {
        out = e.message;
      });
    };
    if (recordHook && record) {
      await recordHook.trigger({ message, collection: record.collection, record: record.record }, (e) =>
        general(e.message),
      );
    } else await general(message);
    return out;
  }

  /**
   * Renders and sends a message now, resolving once the transport accepted it and rejecting with its error
   * (the settings' test e-mail, where the operator wants the outcome).
   */
  async deliver(to: MailAddress, template: EmailTemplateText, values: TemplateValues): Promise<void> {
    const s = this.settings();
    const { subject, html } = renderEmail(template, {
      APP_NAME: s.appName,
      APP_URL: s.appURL.replace(/\/+$/, ""),
      ...values,
    });
    await this.transport(s.smtp).send({
      from: { name: s.senderName, address: s.senderAddress },
      to: [to],
      subject,
      html,
    });
  }

  /**
   * Resolves once every message handed over has been stored, and no queued message is due or being sent
   * (a message waiting to retry later does not count).
   */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    while (this.jobs && (await this.jobs.busy(MAIL_QUEUE))) await new Promise((r) => setTimeout(r, 10));
  }

  /** Waits for messages being handed over, then closes SMTP connections (an injected mailer's too). */
  async close(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    await this.injected?.close?.();
    await this.smtp?.mailer.close();
    this.smtp = null;
  }
}
