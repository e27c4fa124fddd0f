/** What every hook event carries: `next()` runs the rest of the chain (later handlers, then the action). */
export interface HookEvent {
  /**
   * Runs the next handler, or the action itself after the last one. A handler that returns without calling
   * it stops the chain: the action does not happen (PocketBase's `e.Next()`).
   */
  next(): Promise<void>;
}

/** A hook handler: may change the event, call `e.next()`, and throw to refuse. */
export type HookHandler<E> = (e: E) => unknown;

/** Where and when a handler runs. */
export interface BindOptions {
  /** Names the binding so `unbind(id)` can remove it (generated when omitted). */
  id?: string;
  /** Lower runs first; equal priorities keep their binding order (default 0). */
  priority?: number;
  /** Runs only for events about these collections (names or ids); every collection when omitted. */
  collections?: readonly string[];
}

interface Binding<E> {
  readonly id: string;
  readonly priority: number;
  readonly order: number;
  readonly collections: ReadonlySet<string> | null;
  readonly handler: HookHandler<E>;
}

/** The collection an event is about, used by collection-bound handlers. */
type Tagged = { collection?: { readonly id: string; readonly name: string } };

let seq = 0;

/**
 * One named event's handlers, run as a chain around the action they guard (PocketBase's `hook.Hook`):
 * `trigger(event, action)` calls the first handler, whose `e.next()` calls the next, and the last
 * `e.next()` runs the action.
 */
export class Hook<E extends object> {
  private bindings: Binding<E>[] = [];

  constructor(readonly name: string) {}

  /** Adds a handler; returns its id. An existing binding with the same id is replaced. */
  bind(handler: HookHandler<E>, opts: BindOptions = {}): string {
    const id = opts.id ?? `${this.name}#${++seq}`;
    const rest = this.bindings.filter((b) => b.id !== id);
    rest.push({
      id,
      priority: opts.priority ?? 0,
      order: ++seq,
      collections: opts.collections?.length ? new Set(opts.collections) : null,
      handler,
    });
    rest.sort((a, b) => a.priority - b.priority || a.order - b.order);
    this.bindings = rest;
    return id;
  }

  /** Removes the handlers with these ids. */
  unbind(...ids: string[]): void {
    this.bindings = this.bindings.filter((b) => !ids.includes(b.id));
  }

  /** Removes every handler. */
  unbindAll(): void {
    this.bindings = [];
  }

  /** How many handlers are bound. */
  get length(): number {
    return this.bindings.length;
  }

  /** Whether a trigger for this collection would run any handler. */
  hasFor(collection?: { readonly id: string; readonly name: string }): boolean {
    if (!this.bindings.length) return false;
    if (!collection) return true;
    return this.bindings.some(
      (b) => !b.collections || b.collections.has(collection.name) || b.collections.has(collection.id),
    );
  }

  /**
   * Runs the handlers in order around `action`. Resolves once the chain is done; a handler's throw (or the
   * action's) rejects. Without handlers, the action runs at once.
   */
  async trigger(input: Omit<E, "next">, action: (e: E) => unknown = () => {}): Promise<void> {
    const event = input as E;
    const list = this.handlersFor(event);
    if (!list.length) {
      await action(event);
      return;
    }
    let i = 0;
    const next = async (): Promise<void> => {
      const b = list[i++];
      if (b) await b.handler(event);
      else if (i === list.length + 1) await action(event);
    };
    (event as E & HookEvent).next = next;
    await next();
  }

  private handlersFor(event: E): Binding<E>[] {
    const all = this.bindings;
    if (!all.length) return all;
    const c = (event as Tagged).collection;
    if (!c) return all.filter((b) => !b.collections);
    return all.filter((b) => !b.collections || b.collections.has(c.name) || b.collections.has(c.id));
  }
}
