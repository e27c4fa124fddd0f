import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { htmlToText } from "./html-text.js";

// The regex-based stripper this scanner replaced (issue 10: it was quadratic on hostile input). Kept here
// as the reference for what the text of ordinary HTML is.
const EXCLUDED =
  "head|style|script|iframe|embed|applet|object|svg|img|picture|dialog|template|button|form|textarea|input|select|option";
const INLINE = new Set(
  "a abbr acronym b bdo big br button cite code em i label q small span strong strike sub sup time".split(
    " ",
  ),
);
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };
function reference(html: string): string {
  const noExcluded = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(new RegExp(`<(${EXCLUDED})\\b[^>]*>[\\s\\S]*?<\\/\\1\\s*>`, "gi"), " ")
    .replace(new RegExp(`<(${EXCLUDED})\\b[^>]*\\/?>`, "gi"), " ");
  const text = noExcluded.replace(/<\/?([a-z][a-z0-9-]*)\b[^>]*>/gi, (_m, tag: string) =>
    INLINE.has(tag.toLowerCase()) ? "" : " ",
  );
  const decoded = text.replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return NAMED[e.toLowerCase()] ?? m;
  });
  return decoded.replace(/\s+/g, " ").trim();
}

describe("htmlToText", () => {
  it("drops non-text elements and comments, separates blocks, decodes entities", () => {
    expect(
      htmlToText(
        "<p>Hello <b>big</b>   world</p><script>alert(1)</script><p>Second&nbsp;&amp; &#x41;&#66;</p><!-- x --><img src=a>",
      ),
    ).toBe("Hello big world Second & AB");
    expect(htmlToText("<STYLE>p{}</Style >a<br/>b")).toBe("ab");
    expect(htmlToText("1 < 2 && 3 > 2; &bogus; &#0;")).toBe("1 < 2 && 3 > 2; &bogus; &#0;");
  });

  it("gives the same text as the regex stripper on ordinary HTML", () => {
    const token = fc.constantFrom(
      "<p>",
      "</p>",
      "<b>",
      "</b>",
      "<div class='x'>",
      "</div>",
      "<script>",
      "</script>",
      "<img src=x>",
      "<br/>",
      "<span>",
      "</span>",
      "&amp;",
      "&lt;",
      "&#65;",
      "text",
      " ",
      "\n",
      "word",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (parts) => {
        const html = parts.join("");
        expect(htmlToText(html)).toBe(reference(html));
      }),
      { numRuns: 500 },
    );
  });

  it("stopped once enough text is known, starts with the same text as a full pass", () => {
    const token = fc.constantFrom(
      "<p>",
      "</p>",
      "<b>x</b>",
      "<script>hidden</script>",
      "&amp;",
      "&#128512;",
      "\u{1F600}",
      "é",
      "text",
      " ",
      "\n\t",
      "<!-- c -->",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), fc.integer({ min: 1, max: 20 }), (parts, max) => {
        const html = parts.join("");
        const full = [...htmlToText(html)];
        const early = [...htmlToText(html, 2 * max + 2)];
        expect(early.slice(0, max)).toEqual(full.slice(0, max));
        expect(early.length > max).toBe(full.length > max);
      }),
      { numRuns: 500 },
    );
  });

  it("reads only what an excerpt needs of a long value", () => {
    const long = `<p>${"word ".repeat(100_000)}</p>${"<b>x</b>".repeat(50_000)}`;
    // a full pass gives all of it; a bounded pass stops after the piece that crossed the bound
    expect(htmlToText(long).length).toBeGreaterThan(500_000);
    const tags = "<b>x</b> ".repeat(50_000);
    expect(htmlToText(tags).length).toBeGreaterThan(99_000);
    expect(htmlToText(tags, 42).length).toBeLessThan(200);
    // a long run of text with no tag in it stops the pass as well, as do tags that hide nothing
    expect(htmlToText(`<p>${"x&".repeat(200_000)}</p>`, 42).length).toBeLessThan(100);
    expect(
      htmlToText(`${"<a ".repeat(30_000)}${"<script>".repeat(15_000)}${"<!--".repeat(15_000)}`, 42).length,
    ).toBeLessThan(100);
  });

  it("handles hostile input of 400 KB in linear time (no quadratic rescans)", () => {
    const hostile = [
      "<a ".repeat(30_000),
      "<script>".repeat(20_000),
      "<!--".repeat(20_000),
      "&".repeat(50_000),
      "</scriptx".repeat(10_000),
      "<p>tail</p>",
    ].join("");
    expect(hostile.length).toBeGreaterThan(400_000);
    // completes (a quadratic scan of this input takes minutes) and keeps the visible text
    expect(htmlToText(hostile).length).toBeGreaterThan(0);
  });
});
