import { describe, expect, it } from "vitest";
import { htmlToPlainText } from "./mailer.js";
import { renderEmail } from "./render-email.js";

describe("renderEmail", () => {
  it("fills placeholders, escaping them in the body only", () => {
    const out = renderEmail(
      {
        subject: "Hi {RECORD:name} from {APP_NAME}",
        body: '<a href="{APP_URL}/x/{TOKEN}">{RECORD:name}</a> {UNKNOWN}',
      },
      { APP_NAME: "Acme", APP_URL: "https://a.test", TOKEN: "t.o.k", "RECORD:name": "<b>Bo</b>" },
    );
    expect(out.subject).toBe("Hi <b>Bo</b> from Acme");
    expect(out.html).toContain('<a href="https://a.test/x/t.o.k">&lt;b&gt;Bo&lt;/b&gt;</a> {UNKNOWN}');
  });

  it("keeps header injection out of the subject", () => {
    const out = renderEmail({ subject: "{X}", body: "" }, { X: "a\r\nBcc: evil@x.test" });
    expect(out.subject).not.toMatch(/[\r\n]/);
  });

  it("renders a plain-text alternative with visible links", () => {
    expect(htmlToPlainText('<p>Go <a href="https://a.test/r">here</a></p>')).toBe(
      "Go here (https://a.test/r)",
    );
  });
});
