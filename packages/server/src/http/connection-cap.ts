import type { Server } from "node:http";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { addressKey } from "../realtime/index.js";

/** Fastify's names for address ranges (as `trustProxy` accepts them), as CIDR blocks. */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  linklocal: ["169.254.0.0/16", "fe80::/10"],
  uniquelocal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
};

function plainAddress(address: string): string {
  return address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** A matcher for addresses, CIDR blocks and Fastify's range names; entries it cannot read are skipped. */
export function addressMatcher(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries.flatMap((e) => NAMED_RANGES[e.trim()] ?? [e.trim()])) {
    const [ip, bits] = entry.split("/");
    const type = isIPv4(ip) ? "ipv4" : isIPv6(ip) ? "ipv6" : null;
    if (!type) continue;
    if (bits === undefined) list.addAddress(ip, type);
    else if (/^\d+$/.test(bits)) list.addSubnet(ip, Number(bits), type);
  }
  return (address) => {
    const ip = plainAddress(address);
    const type = isIPv4(ip) ? "ipv4" : isIPv6(ip) ? "ipv6" : null;
    return type !== null && list.check(ip, type);
  };
}

/**
 * Caps the TCP connections one client address may hold open at once (an IPv6 /64 counts as one address, as
 * for realtime streams): past `max`, a new connection is closed as it arrives, so one client cannot take the
 * server's connection slots with idle keep-alive sockets (issue 10). Trusted proxies are exempt, since every
 * client behind them arrives from their address. `max` 0 turns the cap off.
 */
export function capConnectionsPerAddress(server: Server, max: number, exempt: readonly string[]): void {
  if (max <= 0) return;
  const isExempt = addressMatcher(exempt);
  const open = new Map<string, number>();
  server.on("connection", (socket) => {
    const address = socket.remoteAddress;
    if (!address || isExempt(address)) return;
    const key = addressKey(plainAddress(address));
    const count = open.get(key) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(key, count + 1);
    socket.once("close", () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
