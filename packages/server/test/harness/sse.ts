import { request } from "node:http";
import { EventSource } from "eventsource";

/** Gives Node 20 the global EventSource the pocketbase SDK's realtime service uses. */
export function installEventSource(): void {
  (globalThis as { EventSource?: unknown }).EventSource ??= EventSource;
}

/** One parsed SSE frame. */
export interface SseFrame {
  id: string;
  event: string;
  data: unknown;
}

/** A raw SSE connection to `/api/realtime` that collects frames. */
export interface RawSse {
  clientId: string;
  frames: SseFrame[];
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Resolves with the first frame (after `from`) whose event matches. */
  next(event: string, timeoutMs?: number): Promise<SseFrame>;
  closed: Promise<void>;
  close(): void;
}

/** Why a stream was refused: its status (e.g. 429 past the per-address cap) and body. */
export class SseRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`realtime stream refused with ${status}: ${body}`);
  }
}

/**
 * Opens a raw SSE stream and waits for PB_CONNECT. An answer other than 200 rejects with `SseRefused` once its
 * body is read (a refused stream never sends PB_CONNECT, so waiting for it would hang).
 */
export function openSse(baseUrl: string, opts: { agent?: false } = {}): Promise<RawSse> {
  return new Promise((resolve, reject) => {
    const headers = { accept: "text/event-stream" };
    const req = request(`${baseUrl}/api/realtime`, { headers, ...opts }, (res) => {
      if (res.statusCode !== 200) {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => reject(new SseRefused(res.statusCode ?? 0, body)));
        res.on("error", reject);
        return;
      }
      let buffer = "";
      let closedResolve!: () => void;
      const closed = new Promise<void>((r) => {
        closedResolve = r;
      });
      const waiters: { event: string; resolve: (f: SseFrame) => void }[] = [];
      const sse: RawSse = {
        clientId: "",
        frames: [],
        status: res.statusCode ?? 0,
        headers: res.headers,
        next(event, timeoutMs = 3000) {
          return new Promise((res2, rej2) => {
            const seen = sse.frames.findIndex((f) => f.event === event);
            if (seen >= 0) {
              res2(sse.frames.splice(seen, 1)[0]);
              return;
            }
            const timer = setTimeout(
              () => rej2(new Error(`no ${event} frame within ${timeoutMs} ms`)),
              timeoutMs,
            );
            waiters.push({
              event,
              resolve: (f) => {
                clearTimeout(timer);
                res2(f);
              },
            });
          });
        },
        closed,
        close: () => req.destroy(),
      };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const raw = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseFrame = { id: "", event: "", data: null };
          for (const line of raw.split("\n")) {
            const i = line.indexOf(":");
            const key = line.slice(0, i);
            const value = line.slice(i + 1);
            if (key === "id") frame.id = value;
            else if (key === "event") frame.event = value;
            else if (key === "data") frame.data = JSON.parse(value);
          }
          if (frame.event === "PB_CONNECT" && !sse.clientId) {
            sse.clientId = frame.id;
            resolve(sse);
          }
          const w = waiters.findIndex((x) => x.event === frame.event);
          if (w >= 0) waiters.splice(w, 1)[0].resolve(frame);
          else sse.frames.push(frame);
          end = buffer.indexOf("\n\n");
        }
      });
      res.on("close", () => {
        closedResolve();
        // settles nothing once PB_CONNECT resolved the promise
        reject(new Error("realtime stream closed before PB_CONNECT"));
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Waits until `check` is true (polling), or fails after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
