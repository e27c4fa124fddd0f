import type { Logger } from "pino";
import { clusterMessage, type IpcChannel } from "../util/index.js";
import type { RealtimeBus, RealtimeMessage } from "./bus.js";

const KINDS = new Set(["record", "direct", "control"]);

/** Options of the cluster IPC bus. */
export interface IpcBusOptions {
  readonly log: Logger;
  /**
   * How long a control message's publisher waits for every other worker to have handled it, in
   * milliseconds (default 2000); past it the publish resolves anyway and a warning is logged.
   */
  readonly ackTimeoutMs?: number;
}

/**
 * The realtime bus of `basalt serve --workers` on SQLite (issue 19): the workers of one machine share it
 * through the primary process, which relays each worker's messages to the others over the cluster's IPC
 * channels. A message reaches this worker's handlers at once; control messages (cache reloads) are
 * acknowledged: `publish` resolves once every other worker has handled them, reload included, so a change
 * answered by one worker is already in force on the others when the client hears back.
 */
export class IpcBus implements RealtimeBus {
  private handlers: ((message: RealtimeMessage) => unknown)[] = [];
  private readonly waiting = new Map<number, () => void>();
  private nextAck = 1;
  private closed = false;
  private readonly off: () => void;
  private readonly welcomed: Promise<void>;

  constructor(
    private readonly channel: IpcChannel,
    private readonly options: IpcBusOptions,
  ) {
    let welcome: () => void = () => undefined;
    this.welcomed = new Promise((resolve) => {
      welcome = resolve;
    });
    this.off = channel.onMessage((raw) => {
      const m = clusterMessage(raw);
      if (!m) return;
      if (m.basalt === "bus") void this.receive(m.message, m.ack);
      else if (m.basalt === "bus-ack") this.acknowledged(m.ack);
      else if (m.basalt === "bus-welcome") {
        welcome();
        // changes committed between this worker loading its caches and joining the relay were not heard:
        // reload once, as after any bus outage
        this.deliver({ kind: "control", change: "reconnected", origin: "ipc-bus" });
      }
    });
    channel.send({ basalt: "bus-hello" });
  }

  /** Resolves true once the primary relays to this worker, false after `timeoutMs`. */
  async waitUntilJoined(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.welcomed.then(() => true as const), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async publish(message: RealtimeMessage): Promise<void> {
    this.deliver(message);
    await this.relay(message);
  }

  /**
   * Sends a message to the other workers only (not to this worker's handlers); for a control message,
   * resolves once each has handled it (or after the acknowledgement timeout).
   */
  async relay(message: RealtimeMessage): Promise<void> {
    if (this.closed) return;
    if (message.kind !== "control") {
      this.channel.send({ basalt: "bus", message });
      return;
    }
    const ack = this.nextAck++;
    const timeoutMs = this.options.ackTimeoutMs ?? 2_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ack);
        this.options.log.warn(
          { change: message.change },
          "realtime bus: other workers did not confirm a reload in time",
        );
        resolve();
      }, timeoutMs);
      this.waiting.set(ack, () => {
        clearTimeout(timer);
        resolve();
      });
      if (!this.channel.send({ basalt: "bus", message, ack })) this.acknowledged(ack);
    });
  }

  subscribe(handler: (message: RealtimeMessage) => void): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers = [];
    this.off();
    for (const done of this.waiting.values()) done();
    this.waiting.clear();
  }

  /** Calls every handler; returns what they returned (a handler may return the promise of its work). */
  private deliver(message: RealtimeMessage): unknown[] {
    return [...this.handlers].map((h) => h(message));
  }

  private async receive(raw: unknown, ack: number | undefined): Promise<void> {
    const message = raw as RealtimeMessage;
    if (this.closed || !KINDS.has(message?.kind)) return;
    const results = this.deliver(message);
    if (ack === undefined) return;
    // the handlers' own work (a cache reload) finishes before the publisher hears back
    await Promise.allSettled(results);
    this.channel.send({ basalt: "bus-ack", ack });
  }

  private acknowledged(ack: number): void {
    const done = this.waiting.get(ack);
    if (!done) return;
    this.waiting.delete(ack);
    done();
  }
}

/**
 * A shared bus (Redis, PostgreSQL) for the workers of `basalt serve --workers` (issue 19): everything goes
 * over the shared bus, which reaches other machines too; control messages (cache reloads) are also relayed
 * to this machine's other workers over IPC, acknowledged, so a change one worker answers is already in force
 * on its siblings (they then hear it once more from the shared bus, and reload again: harmless, and rare).
 */
export class WorkersSharedBus implements RealtimeBus {
  constructor(
    private readonly shared: RealtimeBus,
    private readonly ipc: IpcBus,
  ) {
    if (shared.hasPeers) this.hasPeers = () => (shared.hasPeers as () => Promise<boolean>).call(shared);
  }

  hasPeers?: () => Promise<boolean>;

  async publish(message: RealtimeMessage): Promise<void> {
    if (message.kind !== "control") return this.shared.publish(message);
    await Promise.all([this.shared.publish(message), this.ipc.relay(message)]);
  }

  subscribe(handler: (message: RealtimeMessage) => void): () => void {
    const offShared = this.shared.subscribe(handler);
    // from the siblings only control messages come this way (records travel on the shared bus)
    const offIpc = this.ipc.subscribe((m) => (m.kind === "control" ? handler(m) : undefined));
    return () => {
      offShared();
      offIpc();
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.ipc.close(), this.shared.close()]);
  }
}
