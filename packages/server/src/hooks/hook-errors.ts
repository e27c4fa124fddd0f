import { relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { type HookHandler, isChainStep } from "../core/hook.js";
import { ApiError } from "../errors/index.js";
import type { RouteHandler } from "./router.js";

/** This package's own folder: stack frames inside it are Basalt's, not the user's. */
const PACKAGE_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Failures already logged (and turned into a 500) by an inner handler of the same chain. */
const reported = new WeakSet<object>();

/** True for Basalt's API error, including one from another copy of the package (a hook's own import). */
export function isApiError(err: unknown): err is ApiError {
  if (err instanceof ApiError) return true;
  const e = err as { name?: unknown; status?: unknown; toJSON?: unknown } | null;
  return (
    typeof e === "object" &&
    e !== null &&
    e.name === "ApiError" &&
    typeof e.status === "number" &&
    typeof e.toJSON === "function"
  );
}

/**
 * The first stack frame of an error inside the user's code (`file:line:column`): inside `hooksDir` for hook
 * files (source maps give the TypeScript position), or outside Basalt and `node_modules` for code embedding
 * the library. Null when the error did not come from there.
 */
export function userSite(err: unknown, hooksDir: string | null): string | null {
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  const root = hooksDir ? resolve(hooksDir) + sep : null;
  for (const line of stack.split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1].startsWith("file://") ? fileURLToPath(m[1]) : m[1];
    if (root) {
      if (file.startsWith(root)) return `${relative(resolve(root, ".."), file)}:${m[2]}:${m[3]}`;
      continue;
    }
    if (file.startsWith(PACKAGE_ROOT) || file.includes(`${sep}node_modules${sep}`)) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return null;
}

/**
 * What a handler's throw becomes: an ApiError passes as it is (its status and data answer the request);
 * any other error thrown by the user's code is logged once with the file and line it came from and
 * becomes a bare 500 (no internals reach the client). Errors from Basalt's own work pass unchanged.
 */
export function toHookFailure(err: unknown, what: string, log: Logger, hooksDir: string | null): unknown {
  if (isApiError(err) || (typeof err === "object" && err !== null && reported.has(err))) return err;
  const at = userSite(err, hooksDir);
  if (!at) return err;
  log.error({ err, hook: what, at }, `${what} failed at ${at}`);
  const failure = new ApiError(500, undefined, {}, err);
  reported.add(failure);
  return failure;
}

/** Wraps a hook handler so its failures are reported as `toHookFailure` says. */
export function guardHandler<E>(
  name: string,
  handler: HookHandler<E>,
  log: Logger,
  hooksDir: string | null,
): HookHandler<E> {
  if (typeof handler !== "function") throw new TypeError(`the ${name} handler is not a function`);
  const fail = (err: unknown) => {
    throw toHookFailure(err, name, log, hooksDir);
  };
  // not an async function: a handler that answers with a promise gets one more (its failure mapped), one
  // that answers at once gets none (a hook chain's cost is counted in promises, see Hook.trigger)
  return (e: E) => {
    let out: unknown;
    try {
      out = handler(e);
    } catch (err) {
      fail(err);
    }
    if (
      out !== null &&
      typeof out === "object" &&
      typeof (out as PromiseLike<unknown>).then === "function" &&
      !isChainStep(out)
    ) {
      return Promise.resolve(out).then(undefined, fail);
    }
    return out;
  };
}

/** Wraps a route handler alike. */
export function guardRoute(
  what: string,
  handler: RouteHandler,
  log: Logger,
  hooksDir: string | null,
): RouteHandler {
  if (typeof handler !== "function") throw new TypeError(`the handler of ${what} is not a function`);
  return async (e) => {
    try {
      return await handler(e);
    } catch (err) {
      throw toHookFailure(err, what, log, hooksDir);
    }
  };
}
