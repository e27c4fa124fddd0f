import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linkToken, type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
import { SUPERUSER, startServer, type TestServer } from "../harness/server.js";
import {
  browserAvailable,
  launchBrowser,
  seriousViolations,
  snap,
  type TestBrowser,
  watchErrors,
} from "./browser.js";

// The dashboard at /_/ driven in Debian's Chromium (issue 17). One server, one story: first visit,
// installer, sign-in, a collection with several field types, records, rules, settings, themes and sizes.
const run = browserAvailable("admin dashboard");

describe.runIf(run)("admin dashboard", () => {
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let mail: MailCapture;
  const admin = { email: "owner@example.com", password: "owner-password-1" };

  beforeAll(async () => {
    mail = await startMailCapture();
    server = await startServer();
    mail.attach(server);
    await server.basalt.app.auth.deleteSuperuser(SUPERUSER.email);
    browser = await launchBrowser();
    page = await browser.newPage();
    errors = watchErrors(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await mail?.stop();
  });

  const dash = (hash = "") => `${server.url}/_/${hash}`;

  it("serves the dashboard at /_/ with its own CSP and cacheable assets, never over /api/", async () => {
    const res = await fetch(dash());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const html = await res.text();
    const asset = /src="(\/_\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    const js = await fetch(server.url + asset, { headers: { "accept-encoding": "br, gzip" } });
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect(js.headers.get("content-encoding")).toMatch(/br|gzip/);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    expect((await fetch(dash("../api/health"))).status).toBe(200);
    expect((await fetch(dash("nope.js"))).status).toBe(404);
  });

  it("explains on a first visit how to create the first superuser", async () => {
    await page.goto(dash());
    await page.getByRole("heading", { name: "Create the first superuser" }).waitFor();
    expect(await page.textContent("body")).toContain("basalt superuser upsert EMAIL PASSWORD");
    // no installer link issued yet: the page does not offer one
    expect(await page.textContent("body")).not.toContain("installer link");
    await snap(page, "01-first-visit");
    expect(await seriousViolations(page)).toEqual([]);
  });

  it("creates the first superuser through the one-time installer link and signs in", async () => {
    const token = server.basalt.app.installer.issue();
    await page.goto(dash());
    await page.getByText("installer link").waitFor();
    await page.goto(dash(`#/install/${token}`));
    await page.getByLabel("E-mail").fill(admin.email);
    await page.getByLabel("Password (8 characters or more)").fill(admin.password);
    await page.getByLabel("Password again").fill(admin.password);
    await snap(page, "02-installer");
    await page.getByRole("button", { name: "Create and sign in", exact: true }).click();
    await page.getByRole("heading", { name: "Collections" }).waitFor();
    expect(await server.basalt.app.auth.countSuperusers()).toBe(1);
    // the link is spent
    expect(server.basalt.app.installer.active).toBe(false);
  });

  it("signs out and signs in again with the password", async () => {
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.getByLabel("E-mail").fill(admin.email);
    await page.getByLabel("Password").fill("wrong-password-1");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("alert").waitFor();
    await snap(page, "03-sign-in-error");
    await page.getByLabel("Password").fill(admin.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: "Collections" }).waitFor();
    await snap(page, "04-collections");
    expect(await seriousViolations(page)).toEqual([]);
  });

  it("creates a collection with several field types, validating as you type", async () => {
    await page.getByRole("button", { name: "New collection", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.locator("#collection-name").fill("bad name");
    await dialog.getByText(/name:/).first().waitFor();
    await dialog.locator("#collection-name").fill("posts");
    const addField = async (type: string, name: string) => {
      await dialog.getByLabel("New field type").selectOption(type);
      await dialog.getByRole("button", { name: "Add field", exact: true }).click();
      await dialog.locator("input[id^=field-name-]").last().fill(name);
    };
    await addField("text", "title");
    await addField("number", "views");
    await addField("bool", "published");
    await addField("select", "tag");
    await dialog.getByLabel("values (comma-separated)").last().fill("news, tech");
    await dialog.getByLabel("values (comma-separated)").last().blur();
    await addField("json", "meta");
    await addField("date", "due");
    await snap(page, "05-collection-editor");
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByRole("heading", { name: /^posts/ }).waitFor();
    const pb = await superuserSdk2();
    const c = await pb.collections.getOne("posts");
    expect(c.fields.map((f: { name: string; type: string }) => `${f.name}:${f.type}`)).toEqual(
      expect.arrayContaining([
        "title:text",
        "views:number",
        "published:bool",
        "tag:select",
        "meta:json",
        "due:date",
      ]),
    );
    expect(c.fields.find((f: { name: string }) => f.name === "tag")).toMatchObject({
      values: ["news", "tech"],
    });
  });

  async function superuserSdk2() {
    const pb = server.sdk();
    await pb.collection("_superusers").authWithPassword(admin.email, admin.password);
    return pb;
  }

  async function createRecord(title: string, views: number, tag: string) {
    await page.getByRole("button", { name: "New record", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(/^title/).fill(title);
    await dialog.getByLabel(/^views/).fill(String(views));
    await dialog.getByLabel("published").check();
    await dialog.getByLabel(/^tag/).selectOption(tag);
    await dialog.getByLabel(/^meta/).fill('{"a": 1}');
    await dialog.getByLabel(/^due/).fill("2030-01-02T03:04:05");
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByRole("cell", { name: title }).waitFor();
  }

  it("adds, edits, filters, sorts and deletes records", async () => {
    await createRecord("first post", 5, "news");
    await snap(page, "06-record-editor-done");
    await createRecord("second post", 50, "tech");
    const pb = await superuserSdk2();
    const second = await pb.collection("posts").getFirstListItem('title = "second post"');
    expect(second).toMatchObject({ views: 50, published: true, tag: "tech", meta: { a: 1 } });
    expect(second.due).toBe("2030-01-02 03:04:05.000Z");

    // edit
    await page.getByRole("button", { name: second.id }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(/^title/).fill("second post, edited");
    await snap(page, "07-record-editor");
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("cell", { name: "second post, edited" }).waitFor();

    // filter, with completion of the field name
    const filter = page.locator("#records-filter");
    await filter.fill("vie");
    await filter.press("Control+Space");
    await page.getByRole("option", { name: "views" }).waitFor();
    await filter.press("Enter");
    expect(await filter.inputValue()).toBe("views");
    await filter.fill("views > 10");
    await filter.press("Enter");
    await page.getByRole("cell", { name: "first post" }).waitFor({ state: "detached" });
    expect(await page.getByRole("cell", { name: "second post, edited" }).count()).toBe(1);
    await snap(page, "08-records-filtered");
    await filter.fill("");
    await filter.press("Enter");
    await page.getByRole("cell", { name: "first post" }).waitFor();

    // sort by a column, ascending then descending
    const firstRow = () => page.locator("tbody tr").first().textContent();
    await page.getByRole("button", { name: "views", exact: true }).click();
    await expect.poll(firstRow).toContain("first post");
    await page.getByRole("button", { name: "views ▲", exact: true }).click();
    await expect.poll(firstRow).toContain("second post, edited");

    // realtime: a record created elsewhere shows up in the open list
    await pb.collection("posts").create({ title: "from elsewhere", views: 1 });
    await page.getByRole("cell", { name: "from elsewhere" }).waitFor();

    // bulk delete
    const rows = await pb.collection("posts").getFullList();
    for (const r of rows.filter((x) => x.title !== "first post")) {
      await page.getByLabel(`Select ${r.id}`).check();
    }
    await page.getByRole("button", { name: "Delete selected", exact: true }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Delete", exact: true }).click();
    await page.getByRole("cell", { name: "from elsewhere" }).waitFor({ state: "detached" });
    expect((await pb.collection("posts").getFullList()).map((r) => r.title)).toEqual(["first post"]);
    await snap(page, "09-records");
    expect(await seriousViolations(page)).toEqual([]);
  });

  it("changes a rule in the rule editor and a guest is refused, then allowed", async () => {
    const guest = () => fetch(`${server.url}/api/collections/posts/records`);
    expect((await guest()).status).toBe(403);
    await page.getByRole("button", { name: "Edit collection", exact: true }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("tab", { name: "API rules" }).click();
    const listLocked = dialog.locator(".rule").first().getByLabel("Locked");
    await listLocked.uncheck();
    const rule = dialog.locator("#rule-listRule");
    await rule.fill("nope = 1");
    await dialog.locator("#rule-listRule-error").waitFor();
    await rule.fill("published = true && @request.auth.");
    await rule.press("Control+Space");
    await dialog.getByRole("option", { name: "@request.auth.id" }).waitFor();
    await rule.fill("published = true");
    await dialog.locator("#rule-listRule-error").waitFor({ state: "detached" });
    await snap(page, "10-rules");
    await dialog.getByRole("button", { name: "Save changes", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    const open = await guest();
    expect(open.status).toBe(200);
    expect(((await open.json()) as { items: { title: string }[] }).items.map((i) => i.title)).toEqual([
      "first post",
    ]);

    await page.getByRole("button", { name: "Edit collection", exact: true }).click();
    await page.getByRole("dialog").getByRole("tab", { name: "API rules" }).click();
    await page.getByRole("dialog").locator(".rule").first().getByLabel("Locked").check();
    await page.getByRole("dialog").getByRole("button", { name: "Save changes", exact: true }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    expect((await guest()).status).toBe(403);
  });

  it("asks before a change that drops a field's data", async () => {
    await page.getByRole("button", { name: "Edit collection", exact: true }).click();
    const dialog = page.getByRole("dialog").first();
    await dialog.getByRole("button", { name: "Delete field meta", exact: true }).click();
    await dialog.getByRole("button", { name: "Save changes", exact: true }).click();
    const confirm = page.getByRole("alertdialog");
    await confirm.getByText("“meta” and all its values will be deleted").waitFor();
    await snap(page, "11-confirm-drop");
    await confirm.getByRole("button", { name: "Save and delete data", exact: true }).click();
    await page.getByRole("alertdialog").waitFor({ state: "detached" });
    const pb = await superuserSdk2();
    await expect
      .poll(async () =>
        (await pb.collections.getOne("posts")).fields.some((f: { name: string }) => f.name === "meta"),
      )
      .toBe(false);
  });

  it("edits the settings", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByLabel("Application name").fill("Acme backend");
    await snap(page, "12-settings");
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Save settings", exact: true }).click();
    await page.getByText("Settings saved.").waitFor();
    const pb = await superuserSdk2();
    expect((await pb.settings.getAll()).meta.appName).toBe("Acme backend");
  });

  it("works in the dark theme and on a phone-sized screen", async () => {
    const phone = await browser.newPage({ width: 390, height: 844, dark: true });
    const phoneErrors = watchErrors(phone);
    await phone.goto(dash());
    await phone.getByLabel("E-mail").fill(admin.email);
    await phone.getByLabel("Password").fill(admin.password);
    await phone.getByRole("button", { name: "Sign in", exact: true }).click();
    await phone.getByRole("button", { name: "Menu", exact: true }).waitFor();
    expect(await phone.evaluate("document.documentElement.dataset.theme")).toBe("dark");
    await phone.goto(dash("#/collections/posts"));
    await phone.getByRole("heading", { name: /^posts/ }).waitFor();
    const overflow = (await phone.evaluate(
      "document.documentElement.scrollWidth - window.innerWidth",
    )) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await snap(phone, "13-phone-dark-records");
    expect(await seriousViolations(phone)).toEqual([]);
    await phone.getByRole("button", { name: "Menu", exact: true }).click();
    await snap(phone, "14-phone-dark-menu");
    expect(phoneErrors).toEqual([]);
  });

  it("opens the e-mail confirm pages", async () => {
    const pb = await superuserSdk2();
    await pb.collection("users").create({
      email: "member@example.com",
      password: "member-password-1",
      passwordConfirm: "member-password-1",
    });
    const guestPage = await browser.newPage();
    const guestErrors = watchErrors(guestPage);
    await server.sdk().collection("users").requestVerification("member@example.com");
    await server.basalt.app.mail.idle();
    const verify = linkToken(mail.to("member@example.com").at(-1)!, "confirm-verification");
    await guestPage.goto(dash(`#/auth/confirm-verification/${verify.token}`));
    await guestPage.getByText("Your e-mail address is verified.").waitFor();
    await snap(guestPage, "15-confirm-verification");
    expect((await pb.collection("users").getFirstListItem('email = "member@example.com"')).verified).toBe(
      true,
    );

    await server.sdk().collection("users").requestPasswordReset("member@example.com");
    await server.basalt.app.mail.idle();
    const reset = linkToken(mail.to("member@example.com").at(-1)!, "confirm-password-reset");
    await guestPage.goto(dash(`#/auth/confirm-password-reset/${reset.token}`));
    await guestPage.getByLabel("New password", { exact: true }).fill("brand-new-pass-1");
    await guestPage.getByLabel("New password again").fill("brand-new-pass-1");
    await guestPage.getByRole("button", { name: "Confirm", exact: true }).click();
    await guestPage.getByText("Your password was changed.").waitFor();
    await snap(guestPage, "16-confirm-password-reset");
    expect(await seriousViolations(guestPage)).toEqual([]);
    await server.sdk().collection("users").authWithPassword("member@example.com", "brand-new-pass-1");

    const member = server.sdk();
    await member.collection("users").authWithPassword("member@example.com", "brand-new-pass-1");
    await member.collection("users").requestEmailChange("new-member@example.com");
    await server.basalt.app.mail.idle();
    const change = linkToken(mail.to("new-member@example.com").at(-1)!, "confirm-email-change");
    await guestPage.goto(dash(`#/auth/confirm-email-change/${change.token}`));
    await guestPage.getByText("new-member@example.com").waitFor();
    await guestPage.getByLabel("Your password").fill("brand-new-pass-1");
    await guestPage.getByRole("button", { name: "Confirm", exact: true }).click();
    await guestPage.getByText("Your e-mail address was changed.").waitFor();
    await server.sdk().collection("users").authWithPassword("new-member@example.com", "brand-new-pass-1");
    expect(guestErrors).toEqual([]);
  });

  it("shows no console errors on the main screens", () => {
    expect(errors).toEqual([]);
  });
});
