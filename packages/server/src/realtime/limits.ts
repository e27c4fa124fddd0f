import { isIPv6 } from "node:net";

/**
 * What one client address, and all clients together, may hold in this instance's realtime memory
 * (issue 10: 10,000 idle streams from one address took every connection slot; 550 guests with 1,000 long
 * subscriptions each grew the heap past V8's limit).
 */
export interface RealtimeLimits {
  /** SSE streams open at once on this instance; leaves room under `server.maxConnections` for other traffic. */
  maxClients: number;
  /** SSE streams open at once from one client address (an IPv6 /64 counts as one address). */
  maxClientsPerIp: number;
  /** Total length of one client's subscription strings. */
  maxSubscriptionBytesPerClient: number;
  /** Total length of the subscription strings of every client of one address. */
  maxSubscriptionBytesPerIp: number;
  /** Total length of every client's subscription strings on this instance. */
  maxSubscriptionBytesTotal: number;
  /** Distinct subscription options (`filter`, `expand`, `fields`, headers) one client may use per collection. */
  maxOptionsPerCollection: number;
  /**
   * Rule/filter checks that need a query, per record event, across all clients (shared checks count once).
   * Clients whose checks do not fit are disconnected, those asking for the most checks first; the SDK
   * reconnects and its `PB_CONNECT` tells the application to refetch.
   */
  maxChecksPerEvent: number;
}

/** The defaults: PocketBase's per-client limits (1,000 subscriptions of 2,500 characters) plus Node's bounds. */
export const DEFAULT_REALTIME_LIMITS: RealtimeLimits = {
  maxClients: 5_000,
  maxClientsPerIp: 100,
  maxSubscriptionBytesPerClient: 256 * 1024,
  maxSubscriptionBytesPerIp: 4 * 1024 * 1024,
  maxSubscriptionBytesTotal: 64 * 1024 * 1024,
  maxOptionsPerCollection: 100,
  maxChecksPerEvent: 5_000,
};

/**
 * The key limits are counted under: the address itself for IPv4 (IPv4-mapped IPv6 included), the /64
 * prefix for IPv6, since one host usually holds a whole /64.
 */
export function addressKey(ip: string): string {
  if (ip.startsWith("::ffff:") && ip.includes(".")) return ip.slice(7);
  if (!isIPv6(ip)) return ip;
  const [head, tail = ""] = ip.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = ip.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** One address's share: its open streams and the length of their subscriptions. */
interface AddressUsage {
  clients: number;
  bytes: number;
}

/** Why a stream or a subscription change was refused. */
export type RealtimeRefusal =
  | "clients"
  | "clients_per_ip"
  | "bytes_per_client"
  | "bytes_per_ip"
  | "bytes_total"
  | "options_per_collection";

/** Counts streams and subscription bytes per address and in total, and says whether a change fits. */
export class RealtimeUsage {
  private readonly byAddress = new Map<string, AddressUsage>();
  private clients = 0;
  private bytes = 0;

  constructor(private readonly limits: RealtimeLimits) {}

  /** Whether one more stream from `ip` fits; null when it does. */
  canConnect(ip: string): RealtimeRefusal | null {
    if (this.clients >= this.limits.maxClients) return "clients";
    const used = this.byAddress.get(addressKey(ip));
    if (used && used.clients >= this.limits.maxClientsPerIp) return "clients_per_ip";
    return null;
  }

  /** Counts a new stream (after `canConnect`). */
  connected(ip: string): void {
    const key = addressKey(ip);
    const used = this.byAddress.get(key) ?? { clients: 0, bytes: 0 };
    used.clients++;
    this.byAddress.set(key, used);
    this.clients++;
  }

  /** Whether a client of `ip` holding `before` bytes of subscriptions may hold `after`; null when it may. */
  canResize(ip: string, before: number, after: number): RealtimeRefusal | null {
    if (after > this.limits.maxSubscriptionBytesPerClient) return "bytes_per_client";
    const growth = after - before;
    if (growth <= 0) return null;
    const used = this.byAddress.get(addressKey(ip));
    if ((used?.bytes ?? 0) + growth > this.limits.maxSubscriptionBytesPerIp) return "bytes_per_ip";
    if (this.bytes + growth > this.limits.maxSubscriptionBytesTotal) return "bytes_total";
    return null;
  }

  /** Records a change of one client's subscription bytes. */
  resized(ip: string, before: number, after: number): void {
    const used = this.byAddress.get(addressKey(ip));
    if (!used) return;
    used.bytes += after - before;
    this.bytes += after - before;
  }

  /** Releases a closed stream and its subscription bytes. */
  disconnected(ip: string, bytes: number): void {
    const key = addressKey(ip);
    const used = this.byAddress.get(key);
    if (!used) return;
    used.clients--;
    used.bytes -= bytes;
    this.bytes -= bytes;
    this.clients--;
    if (used.clients <= 0) this.byAddress.delete(key);
  }

  /** Streams and subscription bytes in use (tests, metrics). */
  get totals(): { clients: number; bytes: number; addresses: number } {
    return { clients: this.clients, bytes: this.bytes, addresses: this.byAddress.size };
  }
}
