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

const DONE: Promise<void> = Promise.resolve();

/** The promise the latest `e.next()` answered with (see {@link isChainStep}). */
let lastStep: Promise<void> = DONE;

/**
 * Whether a handler answered with the very promise its `e.next()` gave it (`(e) => e.next()`, or a handler
 * that calls it last and returns what it got): what can still fail in it is the rest of the chain, whose
 * handlers answer for themselves, so a wrapper that maps a handler's own failures has nothing to add.
 * Read right after the handler returns: `e.next()` runs synchronously up to its first await, so the last
 * step answered is the one this handler started.
 */
export function isChainStep(out: unknown): boolean {
  return out === lastStep;
}

/** Events one of whose handlers answered with anything but the promise of its own `e.next()`. */
const continued = new WeakSet<object>();

/**
 * Whether every handler that has run for this event so far answered with the promise of its own `e.next()`
 * and nothing else: none of them has code of its own left to run after the rest of the chain, so none can
 * still refuse (throw) once the action is done. An async handler, or one that did not call `e.next()`, makes
 * this false for the event from then on.
 */
export function passedThrough(event: object): boolean {
  return !continued.has(event);
}
const noop = () => {};

/**
 * What calling `fn(arg)` comes to, as a promise: the promise it answered with (its value is not part of
 * the contract), a settled one for a plain value, a rejected one for a throw.
 */
function outcome<A>(fn: (arg: A) => unknown, arg: A): Promise<void> {
  let out: unknown;
  try {
    out = fn(arg);
  } catch (err) {
    return Promise.reject(err);
  }
  if (out instanceof Promise) return out as Promise<void>;
  if (out !== null && typeof out === "object" && typeof (out as PromiseLike<unknown>).then === "function") {
    return Promise.resolve(out).then(noop);
  }
  return DONE;
}

/**
 * One named event's handlers, run as a chain around the action they guard (PocketBase's `hook.Hook`):
 * `trigger(event, action)` calls the first handler, whose `e.next()` calls the next, and the last
 * `e.next()` runs the action.
 */
export class Hook<E extends object> {
  private bindings: Binding<E>[] = [];
  /** Whether some binding is limited to collections (else every trigger runs every binding). */
  private scoped = false;

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
    this.setBindings(rest);
    return id;
  }

  /** Removes the handlers with these ids. */
  unbind(...ids: string[]): void {
    this.setBindings(this.bindings.filter((b) => !ids.includes(b.id)));
  }

  /** Removes every handler. */
  unbindAll(): void {
    this.setBindings([]);
  }

  private setBindings(list: Binding<E>[]): void {
    this.bindings = list;
    this.scoped = list.some((b) => b.collections !== null);
  }

  /** How many handlers are bound. */
  get length(): number {
    return this.bindings.length;
  }

  /** Whether a trigger for this collection would run any handler. */
  hasFor(collection?: { readonly id: string; readonly name: string }): boolean {
    if (!this.bindings.length) return false;
    if (!collection || !this.scoped) return true;
    return this.bindings.some(
      (b) => !b.collections || b.collections.has(collection.name) || b.collections.has(collection.id),
    );
  }

  /**
   * Runs the handlers in order around `action`. Resolves once the chain is done; a handler's throw (or the
   * action's) rejects. Without handlers, the action runs at once. No promise is made for the chain's own
   * sake: each step hands on the promise its handler (or the action) answered with, so a chain of no-op
   * handlers costs what its action costs (every promise counts twice on Node 20, where the
   * AsyncLocalStorage of transactions turns on promise hooks).
   */
  trigger(input: Omit<E, "next">, action: (e: E) => unknown = noop): Promise<void> {
    const event = input as E;
    const list = this.handlersFor(event);
    if (!list.length) return outcome(action, event);
    let i = 0;
    const next = (): Promise<void> => {
      const b = list[i++];
      let step: Promise<void>;
      if (b) {
        step = outcome(b.handler, event);
        // a handler that passed its own `e.next()` on left `lastStep` at that very promise
        if (step !== lastStep) continued.add(event);
      } else step = i === list.length + 1 ? outcome(action, event) : DONE;
      lastStep = step;
      return step;
    };
    (event as E & HookEvent).next = next;
    return next();
  }

  private handlersFor(event: E): Binding<E>[] {
    const all = this.bindings;
    if (!all.length || !this.scoped) return all;
    const c = (event as Tagged).collection;
    if (!c) return all.filter((b) => !b.collections);
    return all.filter((b) => !b.collections || b.collections.has(c.name) || b.collections.has(c.id));
  }
}
