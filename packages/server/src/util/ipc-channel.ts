/**
 * A message channel to another process of the same program (a cluster worker's link to its primary): what
 * the cluster IPC bus and rate-limit store speak through. Messages are plain JSON values.
 */
export interface IpcChannel {
  /** Sends a message; false when the channel is closed (the message is dropped). */
  send(message: unknown): boolean;
  /** Registers a handler of incoming messages; returns a function that removes it. */
  onMessage(handler: (message: unknown) => void): () => void;
}

/**
 * The channel of this process to the process that forked it (a `node:cluster` worker's IPC link to the
 * primary), or null when the process has none.
 */
export function parentChannel(): IpcChannel | null {
  if (typeof process.send !== "function") return null;
  return {
    send(message) {
      if (!process.connected || !process.send) return false;
      try {
        return process.send(message);
      } catch {
        return false;
      }
    },
    onMessage(handler) {
      const listener = (message: unknown) => handler(message);
      process.on("message", listener);
      return () => {
        process.off("message", listener);
      };
    },
  };
}

/** A rate-limit window as it crosses the channel (see `RateLimitStore`). */
export interface IpcRateWindow {
  readonly count: number;
  readonly resetAt: number;
}

/** A sibling worker's answer to a forwarded realtime subscription request. */
export interface ForwardedAnswer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter?: string;
}

/**
 * What a `basalt serve --workers` worker and its primary say to each other, tagged `basalt` so they never
 * mistake anything else on the channel for theirs:
 * - `bus`: a worker publishes a realtime message (the primary relays it to the other workers as `bus`);
 *   with `ack`, the publisher waits until every other worker has handled it (`bus-ack` back each way);
 * - `bus-hello`/`bus-welcome`: a worker's bus joins the relay, and is told when it has;
 * - `rl`/`rl-result`: a rate-limit counter call on the primary's counters, and its answer;
 * - `rt-forward`/`rt-forward-result`: a realtime subscription request for a client held by another worker,
 *   and the answer of the worker that holds it (null: none does);
 * - `ready`: the worker listens at `url`.
 */
export type ClusterMessage =
  | { readonly basalt: "bus"; readonly message: unknown; readonly ack?: number }
  | { readonly basalt: "bus-ack"; readonly ack: number }
  | { readonly basalt: "bus-hello" }
  | { readonly basalt: "bus-welcome" }
  | {
      readonly basalt: "rl";
      readonly id: number;
      readonly op: "hit" | "peek" | "reset";
      readonly key: string;
      readonly windowMs?: number;
    }
  | { readonly basalt: "rl-result"; readonly id: number; readonly window: IpcRateWindow | null }
  | {
      readonly basalt: "rt-forward";
      readonly id: number;
      readonly clientId: string;
      readonly subscriptions: unknown;
      readonly ip: string;
      readonly authorization?: string;
    }
  | { readonly basalt: "rt-forward-result"; readonly id: number; readonly answer: ForwardedAnswer | null }
  | { readonly basalt: "ready"; readonly url: string };

/** The message as a ClusterMessage, or null when it is not one. */
export function clusterMessage(message: unknown): ClusterMessage | null {
  if (typeof message !== "object" || message === null) return null;
  const tag = (message as { basalt?: unknown }).basalt;
  return typeof tag === "string" ? (message as ClusterMessage) : null;
}
