import { lookup as dnsLookup } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** Which kinds of non-public address a webhook target may resolve to (none by default). */
export type AllowedTargets = readonly ("loopback" | "private")[];

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

// Private, shared, link-local (cloud metadata 169.254.169.254 and fd00:ec2::254 among them), multicast,
// reserved and unspecified ranges: never a public webhook receiver.
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [
  ["::", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["2001:db8::", 32],
  ["100::", 64],
] as const) {
  PRIVATE.addSubnet(net, bits, "ipv6");
}
const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet("169.254.0.0", 16, "ipv4");
LINK_LOCAL.addSubnet("fe80::", 10, "ipv6");

/** Reads the IPv4 address inside an IPv4-mapped or NAT64 IPv6 address, if it is one. */
function embeddedIPv4(address: string): string | null {
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return null;
  const hi = Number.parseInt(hex[1], 16);
  const lo = Number.parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why an address may not be called, or null when it may. */
export function blockedAddressReason(address: string, allowed: AllowedTargets): string | null {
  const inner = embeddedIPv4(address);
  if (inner) return blockedAddressReason(inner, allowed);
  const family = isIP(address) === 6 ? "ipv6" : "ipv4";
  if (LOOPBACK.check(address, family)) return allowed.includes("loopback") ? null : "a loopback address";
  if (LINK_LOCAL.check(address, family)) return "a link-local (metadata) address";
  if (PRIVATE.check(address, family))
    return allowed.includes("private") ? null : "a private or reserved address";
  return null;
}

/** The refusal of a target by the SSRF checks. */
export class BlockedTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BlockedTargetError";
  }
}

function guardedLookup(allowed: AllowedTargets): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as { address: string; family: number }[];
      // every address must pass: a name that also resolves to a private address is refused
      for (const a of list) {
        const reason = blockedAddressReason(a.address, allowed);
        if (reason) return callback(new BlockedTargetError(`${hostname} resolves to ${reason}`), "", 0);
      }
      if (!list.length) return callback(new Error(`${hostname} has no address`), "", 0);
      if (options.all) return callback(null, list as never);
      callback(null, list[0].address, list[0].family);
    });
  };
}

/** What a guarded POST returns. */
export interface SafeResponse {
  status: number;
  /** The first bytes of the body, as text. */
  body: string;
}

/** Limits of a guarded request. */
export interface SafeFetchOptions {
  allowed: AllowedTargets;
  /** For the whole exchange, redirects included (ms). */
  timeoutMs: number;
  /** Response bytes read at most; the rest is discarded. */
  maxResponseBytes: number;
  /** Redirects followed at most (each target checked again). */
  maxRedirects: number;
}

/**
 * Why a URL may not be fetched before any connection is made: a scheme other than http(s), or an IP
 * literal in a refused range (an IP literal is never looked up, so the DNS guard would not see it).
 */
function refusedTarget(url: URL, allowed: AllowedTargets, what: string): BlockedTargetError | null {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return new BlockedTargetError(`only http and https ${what} are allowed`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const reason = isIP(host) ? blockedAddressReason(host, allowed) : null;
  return reason ? new BlockedTargetError(`${host} is ${reason}`) : null;
}

function once(
  url: URL,
  body: string,
  headers: Record<string, string>,
  o: SafeFetchOptions,
  signal: AbortSignal,
) {
  return new Promise<{ status: number; location?: string; body: string }>((resolve, reject) => {
    const refused = refusedTarget(url, o.allowed, "targets");
    if (refused) return reject(refused);
    const lib = url.protocol === "https:" ? https : http;
    const req = lib.request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        lookup: guardedLookup(o.allowed),
        signal,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          if (size >= o.maxResponseBytes) return;
          chunks.push(chunk.subarray(0, o.maxResponseBytes - size));
          size += chunk.length;
          if (size >= o.maxResponseBytes) res.destroy();
        });
        const finish = () =>
          resolve({
            status: res.statusCode ?? 0,
            location: typeof res.headers.location === "string" ? res.headers.location : undefined,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        res.on("end", finish);
        res.on("close", finish);
        res.on("error", (err) => (size >= o.maxResponseBytes ? finish() : reject(err)));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * POSTs a body to a URL with SSRF checks: the host's every resolved address (and an IP literal) must be
 * public unless `allowed` says otherwise, checked again on each redirect (followed as POST for 307/308,
 * as a refusal otherwise); the whole exchange has a timeout and the response a size cap.
 */
export async function safePost(
  target: string,
  body: string,
  headers: Record<string, string>,
  o: SafeFetchOptions,
): Promise<SafeResponse> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${o.timeoutMs} ms`)),
    o.timeoutMs,
  );
  try {
    let url = new URL(target);
    for (let hop = 0; ; hop++) {
      const res = await once(url, body, headers, o, controller.signal);
      if (res.status >= 300 && res.status < 400 && res.location) {
        if (hop >= o.maxRedirects) throw new Error("too many redirects");
        url = new URL(res.location, url);
        continue;
      }
      return { status: res.status, body: res.body };
    }
  } catch (err) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** A response body over the byte cap of {@link safeGetBytes}. */
export class TooLargeError extends Error {
  constructor(limit: number) {
    super(`the answer is larger than ${limit} bytes`);
    this.name = "TooLargeError";
  }
}

function getOnce(url: URL, o: SafeFetchOptions, signal: AbortSignal) {
  return new Promise<{ status: number; location?: string; body: Buffer }>((resolve, reject) => {
    const refused = refusedTarget(url, o.allowed, "URLs");
    if (refused) return reject(refused);
    const lib = url.protocol === "https:" ? https : http;
    const req = lib.request(
      url,
      { method: "GET", lookup: guardedLookup(o.allowed), signal, agent: false },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = typeof res.headers.location === "string" ? res.headers.location : undefined;
        if (status >= 300 && status < 400) {
          res.resume();
          return resolve({ status, location, body: Buffer.alloc(0) });
        }
        const declared = Number(res.headers["content-length"] ?? 0);
        if (declared > o.maxResponseBytes) {
          res.destroy();
          return reject(new TooLargeError(o.maxResponseBytes));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > o.maxResponseBytes) {
            res.destroy();
            return reject(new TooLargeError(o.maxResponseBytes));
          }
          chunks.push(chunk);
        });
        res.on("end", () => resolve({ status, location, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * GETs a URL's bytes with the same SSRF checks as {@link safePost} (every address public unless `allowed`
 * says otherwise, checked again on each redirect), a timeout for the whole exchange, and a byte cap: a larger
 * answer is an error, never a truncated body. Throws unless the final answer is a 2xx.
 */
export async function safeGetBytes(target: string, o: SafeFetchOptions): Promise<Buffer> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${o.timeoutMs} ms`)),
    o.timeoutMs,
  );
  try {
    let url = new URL(target);
    for (let hop = 0; ; hop++) {
      const res = await getOnce(url, o, controller.signal);
      if (res.status >= 300 && res.status < 400 && res.location) {
        if (hop >= o.maxRedirects) throw new Error("too many redirects");
        url = new URL(res.location, url);
        continue;
      }
      if (res.status < 200 || res.status >= 300) throw new Error(`answered ${res.status}`);
      return res.body;
    }
  } catch (err) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
