import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { ADMIN_DIR } from "../../src/http/admin-ui.js";
import { isCi } from "../harness/dialects.js";

/** Debian's Chromium (never a downloaded browser); BASALT_TEST_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env.BASALT_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Where screenshots go (gitignored): packages/server/test-artifacts/admin. */
export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/admin/", import.meta.url));

/**
 * Why the browser tests cannot run here, or null when they can. Outside CI a missing Chromium or an unbuilt
 * dashboard skips them with a message; under CI=true the suite fails instead.
 */
export function browserProblem(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (!existsSync(join(ADMIN_DIR, "index.html"))) return "the dashboard is not built (npm run build)";
  return null;
}

/** Decides once whether to run; logs the reason to skip, throws under CI. */
export function browserAvailable(suite: string): boolean {
  const problem = browserProblem();
  if (!problem) return true;
  if (isCi()) throw new Error(`${suite}: ${problem}; under CI=true the browser tests must run.`);
  console.warn(`[skip] ${suite}: ${problem}`);
  return false;
}

/** A headless Chromium with a fresh profile; each page gets its own context (storage, viewport). */
export interface TestBrowser {
  readonly browser: Browser;
  newPage(opts?: { width?: number; height?: number; dark?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launches Debian's Chromium the way the CI sandbox allows. playwright-core itself starts it with a fresh
 * temporary `--user-data-dir` (and refuses one given in `args`), removed when the browser closes.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async newPage({ width = 1280, height = 800, dark = false } = {}) {
      const context = await browser.newContext({
        viewport: { width, height },
        colorScheme: dark ? "dark" : "light",
      });
      contexts.push(context);
      const page = await context.newPage();
      // Fail a step well inside the test's own timeout, with the locator that did not appear.
      page.setDefaultTimeout(10_000);
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
    },
  };
}

/**
 * Collects what the page reports as errors: uncaught exceptions and console errors. The browser's own
 * "Failed to load resource … status of 4xx" lines are left out: they are the API's expected refusals
 * (a draft the server finds invalid while typing), shown in the UI.
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) return;
    errors.push(`console: ${msg.text()}`);
  });
  return errors;
}

/** Saves a screenshot of the page as a test artefact. */
export async function snap(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core on the page; returns the violations of serious or critical impact. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Strings, not functions: these run in the page, and this file is type-checked without the DOM library.
  if (!(await page.evaluate('"axe" in window'))) await page.evaluate(axeSource);
  const result = (await page.evaluate('axe.run({ resultTypes: ["violations"] })')) as {
    violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
