import { MemoryRateLimitStore, type RateWindow } from "../auth/index.js";
import { type ClusterMessage, clusterMessage, type ForwardedAnswer } from "../util/index.js";

/** The part of a cluster worker the hub talks to (a `node:cluster` Worker satisfies it). */
export interface HubMember {
  readonly id: number;
  send(message: ClusterMessage): boolean;
}

interface PendingForward {
  readonly from: HubMember;
  readonly id: number;
  readonly waiting: Set<number>;
}

interface PendingAck {
  readonly from: HubMember;
  readonly ack: number;
  readonly waiting: Set<number>;
}

/**
 * The primary process's side of the workers' shared state (issue 19): it relays each worker's realtime bus
 * messages to the other workers (and confirms a control message to its publisher once every other worker
 * has handled it), keeps the rate-limit counters every worker counts in, and passes a realtime subscription
 * request to the worker holding its stream. It holds no database.
 */
export class WorkersHub {
  private readonly members = new Map<number, HubMember>();
  private readonly counters = new MemoryRateLimitStore();
  private readonly acks = new Map<number, PendingAck>();
  private nextAck = 1;
  private readonly forwards = new Map<number, PendingForward>();
  private nextForward = 1;

  /** Handles one message from a worker; anything not tagged as Basalt's is ignored. */
  receive(from: HubMember, raw: unknown): void {
    const m = clusterMessage(raw);
    if (!m) return;
    switch (m.basalt) {
      case "bus-hello":
        this.members.set(from.id, from);
        from.send({ basalt: "bus-welcome" });
        return;
      case "bus":
        this.relay(from, m.message, m.ack);
        return;
      case "bus-ack":
        this.confirmed(from.id, m.ack);
        return;
      case "rl":
        void this.count(from, m);
        return;
      case "rt-forward":
        this.forward(from, m);
        return;
      case "rt-forward-result":
        this.forwarded(from.id, m.id, m.answer);
        return;
    }
  }

  /** A worker is gone: it no longer receives messages, and confirmations stop waiting for it. */
  leave(id: number): void {
    this.members.delete(id);
    for (const ack of [...this.acks.keys()]) this.confirmed(id, ack);
    for (const forward of [...this.forwards.keys()]) this.forwarded(id, forward, null);
  }

  /** Asks every other worker whether it holds a realtime client; the one that does answers the request. */
  private forward(from: HubMember, m: Extract<ClusterMessage, { basalt: "rt-forward" }>): void {
    const others = [...this.members.values()].filter((w) => w.id !== from.id);
    const pending: PendingForward = { from, id: m.id, waiting: new Set(others.map((w) => w.id)) };
    const id = this.nextForward++;
    this.forwards.set(id, pending);
    for (const w of others) if (!w.send({ ...m, id })) pending.waiting.delete(w.id);
    if (pending.waiting.size === 0) this.forwarded(-1, id, null);
  }

  /** A worker's answer to a forwarded request: the first real answer goes back; all nulls mean nobody. */
  private forwarded(memberId: number, id: number, answer: ForwardedAnswer | null): void {
    const pending = this.forwards.get(id);
    if (!pending) return;
    pending.waiting.delete(memberId);
    if (answer === null && pending.waiting.size > 0) return;
    this.forwards.delete(id);
    pending.from.send({ basalt: "rt-forward-result", id: pending.id, answer });
  }

  private relay(from: HubMember, message: unknown, ack: number | undefined): void {
    const others = [...this.members.values()].filter((w) => w.id !== from.id);
    if (ack === undefined) {
      for (const w of others) w.send({ basalt: "bus", message });
      return;
    }
    const pending: PendingAck = { from, ack, waiting: new Set(others.map((w) => w.id)) };
    const id = this.nextAck++;
    this.acks.set(id, pending);
    for (const w of others) if (!w.send({ basalt: "bus", message, ack: id })) pending.waiting.delete(w.id);
    this.settle(id, pending);
  }

  private confirmed(memberId: number, id: number): void {
    const pending = this.acks.get(id);
    if (!pending) return;
    pending.waiting.delete(memberId);
    this.settle(id, pending);
  }

  private settle(id: number, pending: PendingAck): void {
    if (pending.waiting.size > 0) return;
    this.acks.delete(id);
    pending.from.send({ basalt: "bus-ack", ack: pending.ack });
  }

  private async count(from: HubMember, m: Extract<ClusterMessage, { basalt: "rl" }>): Promise<void> {
    if (typeof m.key !== "string" || m.key.length > 2048) return;
    let window: RateWindow | null = null;
    if (m.op === "hit") {
      const windowMs = Number(m.windowMs);
      if (!Number.isFinite(windowMs) || windowMs <= 0) return;
      window = await this.counters.hit(m.key, windowMs);
    } else if (m.op === "peek") window = await this.counters.peek(m.key);
    else if (m.op === "reset") await this.counters.reset(m.key);
    else return;
    from.send({ basalt: "rl-result", id: m.id, window });
  }
}
