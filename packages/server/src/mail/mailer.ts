/** A mailbox: an address with an optional display name. */
export interface MailAddress {
  readonly name?: string;
  readonly address: string;
}

/** One e-mail to send. */
export interface MailMessage {
  readonly from: MailAddress;
  readonly to: readonly MailAddress[];
  readonly subject: string;
  readonly html: string;
  /** A plain-text alternative; derived from `html` when absent. */
  readonly text?: string;
}

/** Something that delivers e-mail: SMTP, the log, or a test double injected through the app. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  /** Releases connections; optional. */
  close?(): Promise<void>;
}

/** A plain-text rendering of an HTML e-mail body that keeps link targets visible (`label (url)`). */
export function htmlToPlainText(html: string): string {
  return html
    .replace(/<a\b[^>]*\bhref="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, label: string) => {
      const text = label.replace(/<[^>]*>/g, "").trim();
      return text && text !== href ? `${text} (${href})` : href;
    })
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|h\d|li|tr)>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
