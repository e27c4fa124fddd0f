import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Page } from "playwright-core";
import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_DIR } from "../../src/http/admin-ui.js";
import { png } from "../harness/fixtures/files.js";
import { type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
import { startS3, type TestS3 } from "../harness/s3.js";
import { SUPERUSER, startServer, superuserSdk, type TestServer } from "../harness/server.js";
import { waitFor } from "../harness/wait.js";
import {
  browserAvailable,
  launchBrowser,
  seriousViolations,
  snap,
  type TestBrowser,
  watchErrors,
} from "./browser.js";

// The dashboard's data screens in Debian's Chromium (issue 17): file uploads with previews, the relation
// picker, expand and column choice, import/export, auth options, a view with its preview, indexes, every
// settings group, superusers, realtime refresh; then every main screen at 1280×800 and on a phone, light
// and dark, with axe-core and no console errors. One server, one browser.
const run = browserAvailable("admin dashboard data");

/** An expression (run in the page) naming the elements that stick out on the right, for a failure message. */
const WIDER_THAN_SCREEN = `[...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.scrollWidth - 2)
  .slice(0, 5)
  .map((el) => el.tagName + "." + el.className + " " + Math.round(el.getBoundingClientRect().right))
  .join(", ")`;

/** An expression (run in the page) giving the loaded width of the first image matching `selector`. */
function imageWidth(selector: string): string {
  return `(() => { const img = document.querySelector(${JSON.stringify(selector)}); return img && img.complete ? img.naturalWidth : 0; })()`;
}

describe.runIf(run)("admin dashboard: records, collections and settings in depth", () => {
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let pb: PocketBase;
  let mail: MailCapture;
  let s3: TestS3;
  let adaId = "";
  const dash = (hash = "") => `${server.url}/_/${hash}`;

  async function signIn(p: Page): Promise<void> {
    await p.goto(dash());
    await p.getByLabel("E-mail").fill(SUPERUSER.email);
    await p.getByLabel("Password").fill(SUPERUSER.password);
    await p.getByRole("button", { name: "Sign in", exact: true }).click();
    await p.getByRole("heading", { name: "Collections" }).waitFor();
  }

  beforeAll(async () => {
    mail = await startMailCapture();
    s3 = await startS3("dashboard");
    server = await startServer();
    pb = await superuserSdk(server);
    const authors = await pb.collections.create({
      name: "authors",
      type: "base",
      listRule: "",
      viewRule: "",
      fields: [{ name: "name", type: "text", required: true }],
    });
    for (const name of ["Ada Lovelace", "Grace Hopper", "Alan Turing"]) {
      const r = await pb.collection("authors").create({ name });
      if (name === "Ada Lovelace") adaId = r.id;
    }
    await pb.collections.create({
      name: "posts",
      type: "base",
      fields: [
        { name: "title", type: "text" },
        { name: "views", type: "number" },
        { name: "author", type: "relation", collectionId: authors.id, maxSelect: 1 },
        { name: "cover", type: "file", maxSelect: 1, maxSize: 1_000_000, mimeTypes: ["image/png"] },
        { name: "created", type: "autodate", onCreate: true },
      ],
    });
    browser = await launchBrowser();
    page = await browser.newPage();
    errors = watchErrors(page);
    await signIn(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await mail?.stop();
    await s3?.stop();
  });

  it("creates a record with a file (previewed before upload) and a relation found by searching", async () => {
    await page.goto(dash("#/collections/posts"));
    await page.getByRole("heading", { name: /^posts/ }).waitFor();
    await page.getByRole("button", { name: "New record", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(/^title/).fill("with a cover");
    await dialog.getByLabel(/^views/).fill("7");
    // relation picker: searches the related collection as you type
    await dialog.getByLabel("Search authors").fill("lovel");
    const results = dialog.getByRole("list", { name: "Matching records" });
    await results.getByRole("button", { name: /Ada Lovelace/ }).click();
    expect(await results.getByRole("button", { name: /Grace Hopper/ }).count()).toBe(0);
    await dialog.getByRole("button", { name: "Remove Ada Lovelace" }).waitFor();
    // file: a preview before upload
    await dialog
      .getByLabel("Upload to cover")
      .setInputFiles({ name: "cover.png", mimeType: "image/png", buffer: await png(40, 30) });
    await dialog.getByText("cover.png (new)").waitFor();
    await expect.poll(() => page.evaluate(imageWidth("dialog img.preview"))).toBe(40);
    await snap(page, "30-record-file-relation");
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByRole("cell", { name: "with a cover" }).waitFor();
    const rec = await pb.collection("posts").getFirstListItem('title = "with a cover"');
    expect(rec.author).toBe(adaId);
    expect(rec.cover).toMatch(/^cover_[a-z0-9]+\.png$/);
    // the table shows the stored image, served by the files API
    await expect.poll(() => page.evaluate(imageWidth("img.thumb"))).toBe(40);
    expect(await page.locator("img.thumb").first().getAttribute("src")).toContain(`/api/files/`);

    // edit: the stored file is previewed; removing it empties the field
    await page.getByRole("button", { name: rec.id }).click();
    const edit = page.getByRole("dialog");
    await expect.poll(() => page.evaluate(imageWidth("dialog img.preview"))).toBe(40);
    await edit.getByRole("button", { name: "Remove", exact: true }).click();
    await edit.getByRole("button", { name: "Save", exact: true }).click();
    await edit.waitFor({ state: "detached" });
    expect((await pb.collection("posts").getOne(rec.id)).cover).toBe("");
  });

  it("expands a relation, chooses columns (kept across reloads) and follows realtime changes", async () => {
    const relationCell = page.locator("tbody tr").first();
    expect(await relationCell.textContent()).toContain(adaId);
    await page.getByLabel("Expand").selectOption("author");
    await page.getByRole("cell", { name: "Ada Lovelace" }).waitFor();
    await page.getByRole("button", { name: "Columns", exact: true }).click();
    await page.getByRole("group", { name: "Shown columns" }).getByLabel("views").uncheck();
    await page.getByRole("button", { name: "views", exact: true }).waitFor({ state: "detached" });
    await snap(page, "31-records-expand-columns");
    await page.reload();
    await page.getByRole("heading", { name: /^posts/ }).waitFor();
    await page.getByRole("button", { name: "title", exact: true }).waitFor();
    expect(await page.getByRole("button", { name: "views", exact: true }).count()).toBe(0);

    // changes made elsewhere reach the open list: create, update, delete
    const other = await pb.collection("posts").create({ title: "live one" });
    await page.getByRole("cell", { name: "live one" }).waitFor();
    await pb.collection("posts").update(other.id, { title: "live two" });
    await page.getByRole("cell", { name: "live two" }).waitFor();
    await pb.collection("posts").delete(other.id);
    await page.getByRole("cell", { name: "live two" }).waitFor({ state: "detached" });
  });

  it("adds a unique index, refusing a bad one as you type", async () => {
    await page.getByRole("button", { name: "Edit collection", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("tab", { name: "Indexes" }).click();
    await dialog.getByRole("button", { name: "Add index", exact: true }).click();
    const index = dialog.getByLabel("Index 1");
    await index.fill("CREATE INDEX idx_bad ON posts (no_such_column)");
    await dialog.locator("p.error").first().waitFor();
    await index.fill("CREATE UNIQUE INDEX idx_posts_title ON posts (title)");
    await dialog.locator("p.error").first().waitFor({ state: "detached" });
    await snap(page, "32-indexes");
    await dialog.getByRole("button", { name: "Save changes", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    const { indexes } = await pb.collections.getOne("posts");
    expect(indexes).toHaveLength(1);
    // the server stores it with quoted identifiers
    expect(indexes[0]).toMatch(/^CREATE UNIQUE INDEX \W?idx_posts_title\W? ON \W?posts\W? \(\W?title\W?\)$/);
    await expect(pb.collection("posts").create({ title: "with a cover" })).rejects.toMatchObject({
      status: 400,
    });
  });

  it("creates a view collection from SQL, with a preview of its fields", async () => {
    await page.getByRole("button", { name: "New collection", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.locator("#collection-type").selectOption("view");
    await dialog.locator("#collection-name").fill("author_names");
    await dialog.getByLabel("SELECT query").fill("SELECT id, name AS author FROM authors");
    await dialog.getByRole("heading", { name: "Fields of the view" }).waitFor();
    await dialog.getByText("author: text").waitFor();
    await snap(page, "33-view-preview");
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByRole("heading", { name: /^author_names/ }).waitFor();
    await page.getByRole("cell", { name: "Grace Hopper" }).waitFor();
    expect((await pb.collections.getOne("author_names")).type).toBe("view");
  });

  it("edits auth options: OTP, MFA and token durations", async () => {
    await page.goto(dash("#/collections/users"));
    await page.getByRole("button", { name: "Edit collection", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("tab", { name: "Auth options" }).click();
    await dialog.getByLabel("Sign in with a code sent by e-mail").check();
    await dialog.getByLabel("Length").fill("8");
    await dialog.getByLabel("Require two different methods").check();
    await dialog.getByLabel("Auth token").fill("3600");
    await snap(page, "34-auth-options");
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Save changes", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    const users = await pb.collections.getOne("users");
    expect(users).toMatchObject({
      otp: { enabled: true, length: 8 },
      mfa: { enabled: true },
      authToken: { duration: 3600 },
    });
  });

  it("exports the collections as JSON and imports a changed set", async () => {
    await page.getByRole("button", { name: "Import / export", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Export all collections", exact: true }).click();
    await dialog.getByRole("link", { name: "Download JSON" }).waitFor();
    const text = dialog.getByLabel("Collections JSON");
    const exported = JSON.parse(await text.inputValue()) as { name: string }[];
    expect(exported.map((c) => c.name)).toEqual(expect.arrayContaining(["authors", "posts", "users"]));
    exported.push({
      name: "imported_notes",
      type: "base",
      fields: [{ name: "body", type: "text" }],
    } as never);
    await text.fill(JSON.stringify(exported));
    await dialog.getByRole("button", { name: "Import", exact: true }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Import", exact: true }).click();
    await page.getByText("Collections imported.").waitFor();
    expect(
      (await pb.collections.getOne("imported_notes")).fields.map((f: { name: string }) => f.name),
    ).toContain("body");
    await page.getByRole("link", { name: "imported_notes" }).first().waitFor();
    // invalid JSON is refused before anything is sent
    await page.getByRole("button", { name: "Import / export", exact: true }).click();
    await page.getByRole("dialog").getByLabel("Collections JSON").fill("[{");
    await page.getByRole("dialog").getByRole("button", { name: "Import", exact: true }).click();
    await page.getByRole("dialog").getByRole("alert").waitFor();
    await page.getByRole("dialog").getByRole("button", { name: "Close", exact: true }).last().click();
  });

  it("manages superusers", async () => {
    await page.getByRole("link", { name: "Superusers" }).click();
    await page.getByRole("heading", { name: /^_superusers/ }).waitFor();
    expect(
      await page.getByRole("link", { name: "Superusers", exact: true }).getAttribute("aria-current"),
    ).toBe("page");
    expect(
      await page.getByRole("link", { name: "Collections", exact: true }).getAttribute("aria-current"),
    ).toBeNull();
    await page.getByRole("button", { name: "New record", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(/^email/).fill("second-admin@example.com");
    await dialog.getByLabel("Password", { exact: true }).fill("second-admin-pass-1");
    await dialog.getByLabel("Password again").fill("second-admin-pass-1");
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByRole("cell", { name: "second-admin@example.com" }).waitFor();
    const other = server.sdk();
    await other.collection("_superusers").authWithPassword("second-admin@example.com", "second-admin-pass-1");
    expect(other.authStore.record?.collectionName).toBe("_superusers");
  });

  it("edits every settings group: SMTP with a test e-mail, S3 with a connection test, logs, rate limits, proxy, batch", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    await page.getByLabel("Send through an SMTP server (otherwise e-mails are written to the log)").check();
    await page.getByLabel("SMTP host").fill("127.0.0.1");
    await page.getByLabel("Port", { exact: true }).fill(String(mail.port));
    await page
      .getByLabel("Store uploaded files in an S3-compatible bucket (otherwise in the data folder)")
      .check();
    await page.getByLabel("Bucket", { exact: true }).fill(s3.config.bucket);
    await page.getByLabel("Region", { exact: true }).fill(s3.config.region);
    await page.getByLabel("Endpoint", { exact: true }).fill(s3.config.endpoint);
    await page.getByLabel("Access key", { exact: true }).fill(s3.config.accessKey);
    await page.getByLabel("Secret (leave empty to keep)").fill(s3.config.secret);
    await page.getByLabel("Path-style addressing (MinIO and most self-hosted servers)").check();
    await page.getByLabel("Keep entries (days, 0 turns logging off)").fill("9");
    await page.getByRole("button", { name: "Add rule", exact: true }).click();
    const rule = page.locator("tbody tr").last();
    await rule.getByLabel("Label").fill("/api/collections/posts/records");
    await rule.getByLabel("Max requests").fill("25");
    await page.getByLabel("Never limited: IPs or subnets (comma-separated)").fill("10.0.0.0/8, 192.168.1.7");
    await page.getByLabel(/^Client IP headers/).fill("X-Real-IP");
    await page.getByLabel("Enable /api/batch").check();
    await page.getByLabel("Max requests per batch").fill("20");
    await snap(page, "35-settings-filled");
    await page.getByRole("button", { name: "Save settings", exact: true }).click();
    await page.getByText("Settings saved.").waitFor();
    const s = await pb.settings.getAll();
    expect(s.smtp).toMatchObject({ enabled: true, host: "127.0.0.1", port: mail.port });
    expect(s.s3).toMatchObject({ enabled: true, bucket: "dashboard", forcePathStyle: true, secret: "" });
    expect(server.basalt.app.settings.get().s3.secret).toBe(s3.config.secret);
    expect(s.logs.maxDays).toBe(9);
    expect(s.rateLimits.rules.at(-1)).toMatchObject({
      label: "/api/collections/posts/records",
      maxRequests: 25,
    });
    expect(s.rateLimits.excludedIPs).toEqual(["10.0.0.0/8", "192.168.1.7"]);
    expect(s.trustedProxy.headers).toEqual(["X-Real-IP"]);
    expect(s.batch).toMatchObject({ enabled: true, maxRequests: 20 });

    // the test e-mail goes through the SMTP server just saved
    await page.getByLabel("Send a test e-mail to").fill("inbox@example.com");
    await page.getByRole("button", { name: "Send test e-mail", exact: true }).click();
    await page.getByText("Test e-mail sent to inbox@example.com.").waitFor();
    await waitFor(() => mail.to("inbox@example.com").length === 1, "the test e-mail");
    // the S3 check writes and deletes an object in the bucket
    await page.getByRole("button", { name: "Test the S3 connection", exact: true }).click();
    await page.getByText("S3 works: a test object was written and deleted.").waitFor();
    // a bad value is shown at its field and nothing is saved
    await page.getByLabel("Bucket", { exact: true }).fill("");
    await page.getByRole("button", { name: "Save settings", exact: true }).click();
    await page.getByText("s3.bucket: Cannot be blank.").waitFor();
    expect((await pb.settings.getAll()).s3.bucket).toBe("dashboard");
    expect(await seriousViolations(page)).toEqual([]);
  });

  const screens: [string, string, RegExp][] = [
    ["collections", "#/collections", /^Collections$/],
    ["records", "#/collections/posts", /^posts/],
    ["logs", "#/logs", /^Logs$/],
    ["jobs", "#/jobs", /^Jobs$/],
    ["webhooks", "#/webhooks", /^Webhooks$/],
    ["settings", "#/settings", /^Settings$/],
  ];

  it("passes axe-core on every main screen at 1280×800 and on a phone, in both themes, without overflow", async () => {
    const views: [Page, string, boolean][] = [[page, "desktop-light", false]];
    const extra: string[][] = [];
    for (const [width, height, dark, label] of [
      [1280, 800, true, "desktop-dark"],
      [390, 844, true, "phone-dark"],
      [390, 844, false, "phone-light"],
    ] as const) {
      const p = await browser.newPage({ width, height, dark });
      extra.push(watchErrors(p));
      await signIn(p);
      views.push([p, label, dark]);
    }
    for (const [name, hash, heading] of screens) {
      for (const [p, label, dark] of views) {
        await p.goto(dash(hash));
        await p.getByRole("heading", { name: heading, level: 1 }).waitFor();
        await p.locator("[aria-busy=true]").waitFor({ state: "detached" });
        expect(await p.evaluate("document.documentElement.dataset.theme")).toBe(dark ? "dark" : "light");
        await snap(p, `40-${name}-${label}`);
        expect(await seriousViolations(p), `${name} ${label}`).toEqual([]);
        const overflow = (await p.evaluate(
          "document.documentElement.scrollWidth - window.innerWidth",
        )) as number;
        const wide = overflow > 0 ? await p.evaluate(WIDER_THAN_SCREEN) : "";
        expect(overflow, `${name} ${label} scrolls sideways: ${wide}`).toBeLessThanOrEqual(0);
      }
    }
    expect(extra.flat()).toEqual([]);
  });

  it("keeps the dashboard's JavaScript under 300 KB compressed", () => {
    const assets = join(ADMIN_DIR, "assets");
    const js = readdirSync(assets).filter((f) => f.endsWith(".js"));
    expect(js.length).toBeGreaterThan(0);
    const gzipped = js.reduce((n, f) => n + gzipSync(readFileSync(join(assets, f)), { level: 9 }).length, 0);
    console.info(`[admin] JavaScript: ${js.length} file(s), ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
    expect(gzipped).toBeLessThan(300 * 1024);
  });

  it("shows no console errors", () => {
    expect(errors).toEqual([]);
  });
});
