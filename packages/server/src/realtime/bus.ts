import type { RecordRow } from "../core/records/index.js";

/** A committed record change as it travels between instances: plain JSON, the collection by id. */
export interface RealtimeRecordMessage {
  readonly kind: "record";
  readonly action: "create" | "update" | "delete";
  readonly collectionId: string;
  /** The row after the change (for a delete: as it was). */
  readonly record: RecordRow;
  /** The row before an update, when known. */
  readonly before?: RecordRow;
}

/** A message addressed to one realtime client on whichever instance holds it (OAuth2 redirect results). */
export interface RealtimeDirectMessage {
  readonly kind: "direct";
  readonly clientId: string;
  readonly topic: string;
  readonly data: unknown;
}

/**
 * Keeps instances' caches in step (issue 6): `collections` and `settings` tell the other instances to reload
 * what `origin` changed; `reconnected` is raised locally by a shared bus after an outage, when messages may
 * have been missed (reload everything and ask SSE clients to resync).
 */
export interface RealtimeControlMessage {
  readonly kind: "control";
  readonly change: "collections" | "settings" | "reconnected";
  /** The id of the instance that sent it; an instance ignores its own. */
  readonly origin: string;
}

/** Anything the realtime bus carries. */
export type RealtimeMessage = RealtimeRecordMessage | RealtimeDirectMessage | RealtimeControlMessage;

/**
 * Delivers realtime messages to every instance (including the publishing one). The in-process bus serves
 * one instance; a Redis pub/sub or PostgreSQL LISTEN/NOTIFY bus implements the same interface for scale-out.
 */
export interface RealtimeBus {
  /** Sends a message to every subscriber of the bus, this instance included. */
  publish(message: RealtimeMessage): Promise<void>;
  /**
   * Whether another instance may be on the bus now; a shared bus that cannot tell leaves it out, and a realtime
   * client unknown to this instance is then assumed to be held elsewhere.
   */
  hasPeers?(): Promise<boolean>;
  /**
   * Registers the handler of incoming messages; returns a function that removes it. A handler may return the
   * promise of the work a message caused (a cache reload), for a bus that confirms delivery to wait on.
   */
  subscribe(handler: (message: RealtimeMessage) => void): () => void;
  /** Stops delivering and releases connections. */
  close(): Promise<void>;
}

/** The in-process bus: publish calls every handler of this process. */
export class LocalBus implements RealtimeBus {
  private handlers: ((message: RealtimeMessage) => void)[] = [];

  async publish(message: RealtimeMessage): Promise<void> {
    for (const h of [...this.handlers]) h(message);
  }

  subscribe(handler: (message: RealtimeMessage) => void): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  async close(): Promise<void> {
    this.handlers = [];
  }
}
