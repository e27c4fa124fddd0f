import type { App } from "../core/app.js";
import { ipBlock, ipInBlock } from "../core/settings/index.js";
import { ApiError } from "../errors/index.js";

let cache: { list: readonly string[]; block: ReturnType<typeof ipBlock> } | undefined;

/**
 * Whether a superuser may act from this client address: always when `superuserIPs` is empty, otherwise
 * only from an address in one of its IPs or subnets. The address is the client's as the HTTP layer resolves it
 * (trusted-proxy settings applied), as PocketBase's `RealIP` is.
 */
export function superuserIpAllowed(app: App, ip: string): boolean {
  const list = app.settings.superuserIPs;
  if (list.length === 0) return true;
  if (cache?.list !== list) cache = { list, block: ipBlock(list) };
  return cache.block !== null && ipInBlock(cache.block, ip);
}

/** PocketBase's answer to a superuser outside the allowlist: 403 with the default message. */
export function superuserIpRefused(): ApiError {
  return new ApiError(403, undefined, {}, new Error("superuser IP is not in superuserIPs"));
}
