import { WorkersHub } from "../../src/cli/workers-hub.js";
import type { ClusterMessage, IpcChannel } from "../../src/util/index.js";

/**
 * Workers' IPC channels joined through a real WorkersHub in this process (the primary's side), each message
 * copied and delivered on a later turn as Node's IPC would: the conformance suites run the IPC bus and the
 * IPC rate-limit store on it. The cluster test (workers.test.ts) covers the real channels between processes.
 */
export function ipcChannels(n: number): IpcChannel[] {
  const hub = new WorkersHub();
  const handlers = new Map<number, Set<(m: unknown) => void>>();
  const channels: IpcChannel[] = [];
  for (let id = 1; id <= n; id++) {
    handlers.set(id, new Set());
    const member = {
      id,
      send(message: ClusterMessage) {
        const copy = structuredClone(message);
        setImmediate(() => {
          for (const h of handlers.get(id) ?? []) h(copy);
        });
        return true;
      },
    };
    channels.push({
      send(message) {
        const copy = structuredClone(message);
        setImmediate(() => hub.receive(member, copy));
        return true;
      },
      onMessage(handler) {
        handlers.get(id)?.add(handler);
        return () => handlers.get(id)?.delete(handler);
      },
    });
  }
  return channels;
}
