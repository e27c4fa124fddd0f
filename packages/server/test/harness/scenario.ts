import { expect, it } from "vitest";
import type { TestServer } from "./server.js";

/** One API scenario: a request and what its answer must be. */
export interface Scenario {
  name: string;
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE" | "HEAD";
  url: string;
  /** A token to send, or a function returning one (resolved when the scenario runs). */
  token?: string | (() => string | Promise<string>);
  headers?: Record<string, string>;
  /** A JSON body (objects are serialised; strings are sent raw with a JSON content type). */
  body?: unknown;
  status: number;
  /** A partial deep match of the JSON answer. */
  json?: unknown;
  /** Substrings the raw answer must contain. */
  contains?: string[];
  /** Substrings the raw answer must not contain. */
  notContains?: string[];
  before?: () => Promise<void> | void;
  after?: (res: { status: number; body: string }) => Promise<void> | void;
}

/** Registers one vitest case per scenario against the server the getter returns. */
export function runScenarios(getServer: () => TestServer, scenarios: Scenario[]): void {
  for (const s of scenarios) {
    it(s.name, async () => {
      const server = getServer();
      await s.before?.();
      const token = typeof s.token === "function" ? await s.token() : s.token;
      const res = await server.fetch(s.url, {
        method: s.method,
        headers: s.headers,
        token,
        ...(s.body !== undefined ? { json: s.body } : {}),
      });
      const body = await res.text();
      expect(res.status, body).toBe(s.status);
      if (s.json !== undefined) expect(JSON.parse(body)).toMatchObject(s.json as object);
      for (const c of s.contains ?? []) expect(body).toContain(c);
      for (const c of s.notContains ?? []) expect(body).not.toContain(c);
      await s.after?.({ status: res.status, body });
    });
  }
}
