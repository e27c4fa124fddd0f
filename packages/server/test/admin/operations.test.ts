import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CapturedMail, type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
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

// The dashboard's operations pages (issue 17): request logs with the per-hour chart, the job queue and
// cron jobs, outbound webhooks and their deliveries, and superuser sign-in with OTP and MFA. One server,
// one browser.
const run = browserAvailable("admin dashboard operations");

/** A local webhook target answering `status` (changed by the test). */
async function startReceiver(): Promise<{
  url: string;
  hits: string[];
  status: { code: number };
  close(): Promise<void>;
}> {
  const hits: string[] = [];
  const status = { code: 500 };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      hits.push(String(req.headers["webhook-id"]));
      res
        .writeHead(status.code, { "content-type": "text/plain" })
        .end(status.code === 200 ? "thanks" : "down for maintenance");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    status,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function otpCode(msg: CapturedMail): string {
  const m = /<strong>(\d+)<\/strong>/.exec(msg.body);
  if (!m) throw new Error("no code in the message");
  return m[1];
}

describe.runIf(run)("admin dashboard: logs, jobs, webhooks, OTP and MFA", () => {
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let mail: MailCapture;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
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
    receiver = await startReceiver();
    server = await startServer({ jobsPollMs: 20, webhookAllowedTargets: ["loopback"] });
    mail.attach(server);
    browser = await launchBrowser();
    page = await browser.newPage();
    errors = watchErrors(page);
    await signIn(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await mail?.stop();
    await receiver?.close();
  });

  it("reads the logs: per-hour chart, filter, superusers' requests hidden by default, detail", async () => {
    // signed in before the traffic, so its own (guest) sign-in is flushed with it and counted
    const pb = await superuserSdk(server);
    await fetch(`${server.url}/api/health`);
    await fetch(`${server.url}/api/collections/nothing_here/records`);
    await fetch(`${server.url}/api/collections/users/records?filter=${encodeURIComponent("(((")}`);
    await server.basalt.app.logs.flush();
    await page.getByRole("link", { name: "Logs" }).click();
    await page.getByRole("heading", { name: "Logs" }).waitFor();
    const table = page.getByRole("table", { name: "Log entries, newest first" });
    await table.getByRole("button", { name: "GET /api/health" }).waitFor();
    await table.getByRole("button", { name: "GET /api/collections/nothing_here/records" }).waitFor();
    // the dashboard's own (superuser) calls are left out unless asked for
    const ownCalls = table.getByRole("button", { name: /^GET \/api\/collections\?/ });
    expect(await ownCalls.count()).toBe(0);
    const count = async (filter: string) => (await pb.logs.getList(1, 1, { filter })).totalItems;
    const chart = page.getByRole("img", { name: /^Entries per hour/ });
    const guests = await count('data.auth != "_superusers"');
    expect(guests).toBeGreaterThanOrEqual(3);
    expect(await chart.getAttribute("aria-label")).toContain(`${guests} entries over 24 hour(s)`);
    expect(await chart.locator("rect[height]:not([height='0'])").count()).toBe(1);
    await snap(page, "20-logs");
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByLabel("Include superusers' requests").check();
    await ownCalls.first().waitFor();
    await page.getByLabel("Include superusers' requests").uncheck();

    // the filter language over data.*
    await page.getByLabel("Filter logs").fill("data.status >= 400");
    await page.getByRole("button", { name: "Apply filter", exact: true }).click();
    await table.getByRole("button", { name: "GET /api/health" }).waitFor({ state: "detached" });
    const failed = await count('data.status >= 400 && data.auth != "_superusers"');
    expect(failed).toBeGreaterThanOrEqual(2);
    expect(await table.locator("tbody tr").count()).toBe(failed);
    expect(await chart.getAttribute("aria-label")).toContain(`${failed} entries over`);
    // a bad filter says so and keeps the page usable
    await page.getByLabel("Filter logs").fill("data.status >>> 1");
    await page.getByRole("button", { name: "Apply filter", exact: true }).click();
    await page
      .getByRole("alert")
      .getByText(/filter/i)
      .waitFor();
    await page.getByLabel("Filter logs").fill("data.status = 404");
    await page.getByRole("button", { name: "Apply filter", exact: true }).click();
    await page.getByRole("alert").waitFor({ state: "detached" });

    // detail of one entry
    await table.getByRole("button", { name: "GET /api/collections/nothing_here/records" }).click();
    const dialog = page.getByRole("dialog", { name: "Log entry" });
    await dialog.getByText("data.status").waitFor();
    const text = await dialog.textContent();
    expect(text).toContain("404");
    expect(text).toContain("/api/collections/nothing_here/records");
    expect(text).toContain("error");
    await snap(page, "21-log-entry");
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Close" }).click();
  });

  it("shows queue states, retries a dead job, cancels a pending one and runs a cron job", async () => {
    const app = server.basalt.app;
    let fail = true;
    let runs = 0;
    app.jobs.handle("reports", async () => {
      runs++;
      if (fail) throw new Error("printer on fire");
    });
    let cronRuns = 0;
    app.cron.add("nightly-report", "0 3 * * *", async () => {
      cronRuns++;
    });
    const dead = await app.jobs.enqueue("reports", { month: "2026-11" }, { maxAttempts: 1 });
    const later = await app.jobs.enqueue("reports", { month: "2026-12" }, { delay: 3_600_000 });
    await waitFor(async () => (await app.jobs.get(dead.id))?.state === "dead", "the dead job");

    await page.getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("heading", { name: "Jobs", exact: true, level: 1 }).waitFor();
    const queues = page.getByRole("table", { name: "Jobs per queue" });
    const reports = queues.getByRole("row").filter({ hasText: "reports" });
    await reports.waitFor();
    expect((await reports.textContent())?.replace(/\s+/g, " ")).toMatch(/reports\s*1\s*0\s*1/);
    const jobs = page.getByRole("table", { name: "Jobs, newest first" });
    const deadRow = jobs.getByRole("row").filter({ hasText: dead.id });
    expect(await deadRow.textContent()).toContain("printer on fire");
    await snap(page, "22-jobs");
    expect(await seriousViolations(page)).toEqual([]);

    // filter by state
    await page.getByLabel("State").selectOption("dead");
    await jobs.getByRole("row").filter({ hasText: later.id }).waitFor({ state: "detached" });
    await page.getByLabel("State").selectOption("");
    await jobs.getByRole("row").filter({ hasText: later.id }).waitFor();

    // detail, then retry: it runs again and succeeds
    await jobs.getByRole("button", { name: dead.id, exact: true }).click();
    const dialog = page.getByRole("dialog", { name: `Job ${dead.id}` });
    expect(await dialog.textContent()).toContain('"month": "2026-11"');
    fail = false;
    await dialog.getByRole("button", { name: "Retry job", exact: true }).click();
    await waitFor(async () => (await app.jobs.get(dead.id))?.state === "done", "the retried job");
    expect(runs).toBe(2);
    await dialog.getByRole("button", { name: "Close", exact: true }).last().click();
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await deadRow.getByText("done").waitFor();

    // cancel the pending (delayed) job, after a confirmation
    await page.getByRole("button", { name: `Cancel job ${later.id}` }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Cancel job", exact: true }).click();
    await jobs.getByRole("row").filter({ hasText: later.id }).getByText("cancelled").waitFor();
    expect((await app.jobs.get(later.id))?.state).toBe("cancelled");

    // cron jobs: listed, and run on demand
    const crons = page.getByRole("table", { name: "Cron jobs" });
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await crons.getByText("0 3 * * *").waitFor();
    await crons.getByRole("button", { name: "Run now nightly-report" }).click();
    await waitFor(() => cronRuns === 1, "the cron run");
  });

  it("creates a webhook, shows its failed deliveries and replays one", async () => {
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("button", { name: "New webhook", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "New webhook" });
    await dialog.getByLabel("Name").fill("crm sync");
    await dialog.getByLabel("Target URL").fill("ftp://nope");
    await dialog.getByLabel("users").check();
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await dialog.getByText("Must be an http(s) URL without credentials.", { exact: true }).waitFor();
    await dialog.getByLabel("Target URL").fill(`${receiver.url}/crm`);
    await dialog.getByLabel("delete").uncheck();
    await dialog.getByLabel("Fields sent (comma-separated; empty sends all)").fill("email, name");
    await snap(page, "23-webhook-editor");
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByRole("heading", { name: "Deliveries of crm sync" }).waitFor();
    const pb = await superuserSdk(server);
    const [hook] = (await pb.send("/api/webhooks", {})) as {
      id: string;
      events: string[];
      fields: string[];
    }[];
    expect(hook).toMatchObject({ events: ["create", "update"], fields: ["email", "name"] });

    // a record change is delivered; the target answers 500, so the delivery is retrying
    await pb
      .collection("users")
      .create({ email: "hook@example.com", password: "hook-password-1", passwordConfirm: "hook-password-1" });
    await waitFor(() => receiver.hits.length >= 1, "the first delivery attempt");
    const deliveries = page.getByRole("table", { name: "Deliveries, newest first" });
    await expect
      .poll(async () => {
        await page.getByRole("button", { name: "Refresh", exact: true }).click();
        return deliveries.textContent();
      })
      .toMatch(/record\.create.*(retrying|failed).*500/);
    await snap(page, "24-webhook-deliveries");
    expect(await seriousViolations(page)).toEqual([]);

    // the target is back: replay, same message id, success
    receiver.status.code = 200;
    const before = receiver.hits.length;
    await deliveries.getByRole("button", { name: /^Replay delivery / }).click();
    await waitFor(() => receiver.hits.length > before, "the replayed delivery");
    expect(receiver.hits.at(-1)).toBe(receiver.hits[0]);
    await expect
      .poll(async () => {
        await page.getByRole("button", { name: "Refresh", exact: true }).click();
        return deliveries.textContent();
      })
      .toMatch(/success.*200/);

    // 30 updates more: a second page of deliveries
    const user = await pb.collection("users").getFirstListItem('email = "hook@example.com"');
    for (let i = 0; i < 30; i++) await pb.collection("users").update(user.id, { name: `n${i}` });
    await waitFor(() => receiver.hits.length >= 32, "the update deliveries");
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await page.getByText("Page 1 of 2 (31 deliveries)").waitFor();
    await page
      .getByRole("navigation", { name: "Delivery pages" })
      .getByRole("button", { name: "Next" })
      .click();
    await page.getByText("Page 2 of 2 (31 deliveries)").waitFor();
    await deliveries.getByText("record.create").waitFor();
    expect(await deliveries.locator("tbody tr").count()).toBe(1);

    // the detail shows the payload sent
    await deliveries.getByRole("button").first().click();
    const detail = page.getByRole("dialog", { name: /^Delivery / });
    expect(await detail.textContent()).toContain("hook@example.com");
    await detail.getByRole("button", { name: "Close", exact: true }).last().click();

    // delete, after a confirmation
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Delete webhook", exact: true }).click();
    await page.getByText("No webhooks yet.").waitFor();
    expect(await pb.send("/api/webhooks", {})).toEqual([]);
  });

  it("signs a superuser in with MFA (password, then an e-mailed code) and with OTP alone", async () => {
    const pb = await superuserSdk(server);
    await pb.collections.update("_superusers", { otp: { enabled: true }, mfa: { enabled: true } });
    const fresh = await browser.newPage();
    const freshErrors = watchErrors(fresh);
    // the code of the next message to arrive after `seen` messages
    let seen = mail.to(SUPERUSER.email).length;
    const lastCode = async () => {
      await waitFor(() => mail.to(SUPERUSER.email).length > seen, "the e-mailed code");
      seen = mail.to(SUPERUSER.email).length;
      return otpCode(mail.to(SUPERUSER.email).at(-1)!);
    };

    // password first: the server asks for a second factor and the page mails a code
    await fresh.goto(dash());
    await fresh.getByLabel("E-mail").fill(SUPERUSER.email);
    await fresh.getByLabel("Password").fill(SUPERUSER.password);
    await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
    await fresh.getByText("Multi-factor authentication: we sent a one-time code").waitFor();
    await fresh.getByLabel("One-time code").fill(await lastCode());
    await snap(fresh, "25-sign-in-mfa-code");
    expect(await seriousViolations(fresh)).toEqual([]);
    await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
    await fresh.getByRole("heading", { name: "Collections" }).waitFor();

    // a code first, then the password
    await fresh.getByRole("button", { name: "Sign out", exact: true }).click();
    await fresh.getByLabel("E-mail").fill(SUPERUSER.email);
    await fresh.getByRole("button", { name: "E-mail me a code instead", exact: true }).click();
    await fresh.getByLabel("One-time code").fill(await lastCode());
    await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
    await fresh.getByText("One more step: sign in with your password.").waitFor();
    await fresh.getByLabel("Password").fill(SUPERUSER.password);
    await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
    await fresh.getByRole("heading", { name: "Collections" }).waitFor();

    // MFA off: the code alone signs in; a wrong code is refused
    await pb.collections.update("_superusers", { mfa: { enabled: false } });
    await fresh.getByRole("button", { name: "Sign out", exact: true }).click();
    await fresh.getByLabel("E-mail").fill(SUPERUSER.email);
    await fresh.getByRole("button", { name: "E-mail me a code instead", exact: true }).click();
    const code = await lastCode();
    await fresh.getByLabel("One-time code").fill(code === "000000" ? "111111" : "000000");
    await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
    await fresh.getByRole("alert").waitFor();
    await fresh.getByLabel("One-time code").fill(code);
    await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
    await fresh.getByRole("heading", { name: "Collections" }).waitFor();
    await pb.collections.update("_superusers", { otp: { enabled: false } });
    expect(freshErrors).toEqual([]);
  });

  it("shows no console errors", () => {
    expect(errors).toEqual([]);
  });
});
