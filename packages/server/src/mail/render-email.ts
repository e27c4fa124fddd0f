/** An e-mail template with PocketBase's `{PLACEHOLDER}` syntax in subject and HTML body. */
export interface EmailTemplateText {
  readonly subject: string;
  readonly body: string;
}

/** Placeholder values by name (`APP_NAME`, `TOKEN`, `OTP`, `RECORD:email` …), as plain text. */
export type TemplateValues = Readonly<Record<string, string>>;

const PLACEHOLDER = /\{([A-Z_]+(?::[A-Za-z0-9_]+)?)\}/g;

function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function fill(text: string, values: TemplateValues, encode: (s: string) => string): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(values, name) ? encode(values[name]) : whole,
  );
}

/** Wraps an e-mail's HTML content in a minimal, client-safe document. */
function layout(content: string): string {
  return [
    "<!DOCTYPE html>",
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"></head>',
    '<body style="font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#16161a">',
    content,
    "</body></html>",
  ].join("\n");
}

/**
 * Fills a template's placeholders: plain in the subject, HTML-escaped in the body (so a record's name cannot
 * inject markup), and wraps the body in the e-mail layout. Unknown placeholders are left as written.
 *
 * @example renderEmail(collection.verificationTemplate, { APP_NAME: "Acme", APP_URL: url, TOKEN: token })
 */
export function renderEmail(
  template: EmailTemplateText,
  values: TemplateValues,
): { subject: string; html: string } {
  return {
    subject: fill(template.subject, values, (s) => s.replace(/[\r\n]+/g, " ")),
    html: layout(fill(template.body, values, escapeHtml)),
  };
}
