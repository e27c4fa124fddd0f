import type { Collection } from "./collections/index.js";
import type { RecordRow } from "./records/serialize.js";

/** A committed record change: emitted after its transaction commits, never for a rolled-back write. */
export interface RecordEvent {
  readonly action: "create" | "update" | "delete";
  readonly collection: Collection;
  /** The row as stored after the change (for a delete: the row as it was). */
  readonly record: RecordRow;
  /** The row before an update. */
  readonly before?: RecordRow;
}

/** Every event the app emits, by name. */
export interface AppEvents {
  record: RecordEvent;
}

/** A listener of one event. */
export type EventListener<T> = (payload: T) => void;

/**
 * A small typed, synchronous event bus. A listener that throws is reported to `onError` and does not stop
 * the others: a committed write has already happened and its answer must not fail.
 */
export class EventBus {
  private readonly listeners: { [K in keyof AppEvents]?: EventListener<AppEvents[K]>[] } = {};

  constructor(private readonly onError: (err: unknown, event: string) => void = () => {}) {}

  /** Registers a listener; returns a function that removes it. */
  on<K extends keyof AppEvents>(name: K, listener: EventListener<AppEvents[K]>): () => void {
    const list = (this.listeners[name] ?? []) as EventListener<AppEvents[K]>[];
    this.listeners[name] = list as never;
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Calls every listener of an event in registration order. */
  emit<K extends keyof AppEvents>(name: K, payload: AppEvents[K]): void {
    const list = this.listeners[name] as EventListener<AppEvents[K]>[] | undefined;
    if (!list?.length) return;
    for (const listener of [...list]) {
      try {
        listener(payload);
      } catch (err) {
        this.onError(err, name);
      }
    }
  }

  /** True when an event has at least one listener (lets emitters skip building payloads). */
  has(name: keyof AppEvents): boolean {
    return (this.listeners[name]?.length ?? 0) > 0;
  }
}
