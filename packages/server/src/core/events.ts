import type { RequestAuth } from "../auth/index.js";
import type { MailMessage } from "../mail/index.js";
import type { Collection } from "./collections/index.js";
import { Hook, type HookEvent } from "./hook.js";
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

// ---------------------------------------------------------------------------------------------------------
// Hooks with PocketBase's names (issue 13). Each is a chain of handlers around the action it guards; see
// Hook in hook.ts. Model hooks run inside the write's transaction; `…AfterSuccess` after its commit.
// ---------------------------------------------------------------------------------------------------------

/** The caller of a request as hooks see it. */
export interface HookRequestInfo {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly query: Record<string, string>;
  readonly params: Record<string, string>;
  /** The signed-in caller, or null for a guest. */
  readonly auth: RequestAuth | null;
  readonly ip: string;
}

/** App lifecycle: `onBootstrap`, `onServe` (with the bound address) and `onTerminate`. */
export interface LifecycleEvent extends HookEvent {
  /** `http://host:port` once listening (onServe only). */
  address?: string;
}

/** A record about to be (or being) created, updated or deleted: the model hooks' event. */
export interface RecordModelEvent extends HookEvent {
  readonly collection: Collection;
  /** The record's values; before the write a handler may change them (create/update). */
  record: Record<string, unknown>;
  /** The stored record before an update. */
  readonly original?: RecordRow;
  /** The write's transaction: records read or written through it commit or roll back with this write. */
  readonly tx: RecordsTx;
}

/** A failed write (`onRecordAfter…Error`). */
export interface RecordErrorEvent extends RecordModelEvent {
  readonly error: unknown;
}

/** A record about to be answered to a client (`onRecordEnrich`); handlers may add or hide keys. */
export interface RecordEnrichEvent extends HookEvent {
  readonly collection: Collection;
  /** The record's JSON as it will be sent. */
  record: Record<string, unknown>;
  readonly auth: RequestAuth | null;
  /** `"expand"` for a record loaded by `expand`, else the request's rule context (`"default"`, …). */
  readonly context?: string;
}

/** A request about one collection (records CRUD, auth flows, collection requests). */
export interface RequestEvent extends HookEvent {
  readonly request: HookRequestInfo;
  /** The collection the route names (records and auth routes). */
  readonly collection?: Collection;
  /** The parsed body; a handler may change it before `e.next()`. */
  body: Record<string, unknown>;
  /** The record id the route names (view, update, delete). */
  readonly id?: string;
  /** The record the action produced or read (after `e.next()` resolves). */
  record?: Record<string, unknown>;
  /** The answer the action produced (after `e.next()`), or one a handler sets instead of calling it. */
  response?: { status: number; body?: unknown };
}

/** A successful sign-in about to be answered (`onRecordAuthRequest`). */
export interface RecordAuthEvent extends HookEvent {
  readonly collection: Collection;
  readonly record: RecordRow;
  readonly token: string;
  /** `password`, `otp`, `oauth2`, `refresh`, `impersonate`, … */
  readonly authMethod: string;
  /** Extra keys to add to the answer (e.g. `meta`). */
  meta?: Record<string, unknown>;
}

/** An e-mail about to be queued (`onMailerSend`); a handler may change it, or skip `e.next()` to drop it. */
export interface MailerEvent extends HookEvent {
  message: MailMessage;
}

/** One of an auth record's e-mails (`onMailerRecord…Send`). */
export interface MailerRecordEvent extends MailerEvent {
  readonly collection: Collection;
  readonly record: RecordRow;
}

/** A realtime message about to be written to one client (`onRealtimeMessageSend`). */
export interface RealtimeMessageEvent extends HookEvent {
  readonly clientId: string;
  /** The subscription topic (or `PB_CONNECT`). */
  readonly name: string;
  /** The message data; a handler may replace it. */
  data: unknown;
}

/** A collection definition being written (`onCollectionCreate/Update/Delete`). */
export interface CollectionModelEvent extends HookEvent {
  readonly collection: Collection;
}

/** The records a model hook may use within its write's transaction (see RecordsClient). */
export interface RecordsTx {
  findOne(collection: string, id: string): Promise<Record<string, unknown> | null>;
  findFirst(
    collection: string,
    filter: string,
    params?: Record<string, unknown>,
  ): Promise<Record<string, unknown> | null>;
  create(collection: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  update(collection: string, id: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  delete(collection: string, id: string): Promise<void>;
}

const REQUEST_HOOKS = [
  "onRecordsListRequest",
  "onRecordViewRequest",
  "onRecordCreateRequest",
  "onRecordUpdateRequest",
  "onRecordDeleteRequest",
  "onRecordAuthWithPasswordRequest",
  "onRecordAuthWithOTPRequest",
  "onRecordRequestOTPRequest",
  "onRecordAuthWithOAuth2Request",
  "onRecordAuthRefreshRequest",
  "onRecordRequestVerificationRequest",
  "onRecordConfirmVerificationRequest",
  "onRecordRequestPasswordResetRequest",
  "onRecordConfirmPasswordResetRequest",
  "onRecordRequestEmailChangeRequest",
  "onRecordConfirmEmailChangeRequest",
  "onRealtimeConnectRequest",
  "onRealtimeSubscribeRequest",
  "onCollectionsListRequest",
  "onCollectionViewRequest",
  "onCollectionCreateRequest",
  "onCollectionUpdateRequest",
  "onCollectionDeleteRequest",
  "onSettingsListRequest",
  "onSettingsUpdateRequest",
  "onBatchRequest",
] as const;

const MODEL_HOOKS = [
  "onRecordCreate",
  "onRecordCreateExecute",
  "onRecordAfterCreateSuccess",
  "onRecordUpdate",
  "onRecordUpdateExecute",
  "onRecordAfterUpdateSuccess",
  "onRecordDelete",
  "onRecordDeleteExecute",
  "onRecordAfterDeleteSuccess",
  "onRecordValidate",
] as const;

const ERROR_HOOKS = [
  "onRecordAfterCreateError",
  "onRecordAfterUpdateError",
  "onRecordAfterDeleteError",
] as const;

const MAILER_RECORD_HOOKS = [
  "onMailerRecordVerificationSend",
  "onMailerRecordPasswordResetSend",
  "onMailerRecordEmailChangeSend",
  "onMailerRecordOTPSend",
  "onMailerRecordAuthAlertSend",
] as const;

const COLLECTION_HOOKS = [
  "onCollectionCreate",
  "onCollectionAfterCreateSuccess",
  "onCollectionUpdate",
  "onCollectionAfterUpdateSuccess",
  "onCollectionDelete",
  "onCollectionAfterDeleteSuccess",
] as const;

export type RequestHookName = (typeof REQUEST_HOOKS)[number];
type ModelHookName = (typeof MODEL_HOOKS)[number];
type ErrorHookName = (typeof ERROR_HOOKS)[number];
type MailerRecordHookName = (typeof MAILER_RECORD_HOOKS)[number];
type CollectionHookName = (typeof COLLECTION_HOOKS)[number];

/** Every hook of the app, by PocketBase's name, with its event type. */
export type AppHooks = { readonly [K in RequestHookName]: Hook<RequestEvent> } & {
  readonly [K in ModelHookName]: Hook<RecordModelEvent>;
} & { readonly [K in ErrorHookName]: Hook<RecordErrorEvent> } & {
  readonly [K in MailerRecordHookName]: Hook<MailerRecordEvent>;
} & { readonly [K in CollectionHookName]: Hook<CollectionModelEvent> } & {
  readonly onBootstrap: Hook<LifecycleEvent>;
  readonly onServe: Hook<LifecycleEvent>;
  readonly onTerminate: Hook<LifecycleEvent>;
  readonly onRecordEnrich: Hook<RecordEnrichEvent>;
  readonly onRecordAuthRequest: Hook<RecordAuthEvent>;
  readonly onMailerSend: Hook<MailerEvent>;
  readonly onRealtimeMessageSend: Hook<RealtimeMessageEvent>;
};

/** The name of every hook. */
export type HookName = keyof AppHooks;

/** Every hook name, for loaders and docs. */
export const HOOK_NAMES: readonly HookName[] = [
  "onBootstrap",
  "onServe",
  "onTerminate",
  ...MODEL_HOOKS,
  ...ERROR_HOOKS,
  "onRecordEnrich",
  ...REQUEST_HOOKS,
  "onRecordAuthRequest",
  "onMailerSend",
  ...MAILER_RECORD_HOOKS,
  "onRealtimeMessageSend",
  ...COLLECTION_HOOKS,
];

/** Creates an empty set of every hook. */
export function createHooks(): AppHooks {
  const out: Record<string, Hook<object>> = {};
  for (const name of HOOK_NAMES) out[name] = new Hook(name);
  return out as unknown as AppHooks;
}

/** Removes every handler of every hook (before a `--dev` reload). */
export function unbindAllHooks(hooks: AppHooks): void {
  for (const name of HOOK_NAMES) hooks[name].unbindAll();
}
