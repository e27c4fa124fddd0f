import type { RequestAuth } from "../../auth/index.js";
import { ApiError, notFound } from "../../errors/index.js";
import type { Collection, CollectionsService } from "../collections/index.js";
import type { RecordsTx } from "../events.js";
import { bindFilter } from "./bind-filter.js";
import type { RecordRequest } from "./record-request.js";
import type { RecordsService } from "./records-service.js";

/** Options of a list from code. */
export interface ListOptions {
  /** A filter in PocketBase's syntax; `{:name}` placeholders take `params` safely. */
  filter?: string;
  params?: Record<string, unknown>;
  sort?: string;
  page?: number;
  perPage?: number;
  skipTotal?: boolean;
  expand?: string;
  fields?: string;
}

/** A page of records as the API answers it. */
export interface RecordsList {
  page: number;
  perPage: number;
  totalItems: number;
  totalPages: number;
  items: Record<string, unknown>[];
}

const SYSTEM: RecordRequest = { auth: null, system: true, context: "default", method: "GET" };

/**
 * Records from code: find, list, create, update and delete through the records service, so the same
 * validation and hooks run as for REST. As the system (the default) every rule is bypassed; `as(auth)` acts
 * on behalf of a caller with that caller's rules enforced. Answers are records as the API shapes them.
 */
export class RecordsClient implements RecordsTx {
  constructor(
    private readonly collections: CollectionsService,
    private readonly records: RecordsService,
    private readonly req: RecordRequest = SYSTEM,
  ) {}

  /** The same client acting for a caller (null: a guest), with that caller's rules enforced. */
  as(auth: RequestAuth | null): RecordsClient {
    return new RecordsClient(this.collections, this.records, {
      auth,
      context: "default",
      method: "GET",
    });
  }

  /** The client bound to another records service (a transaction's). */
  withService(records: RecordsService): RecordsClient {
    return new RecordsClient(this.collections, records, this.req);
  }

  private collection(nameOrId: string): Collection {
    const c = this.collections.find(nameOrId);
    if (!c) throw notFound(`Missing collection "${nameOrId}".`);
    return c;
  }

  private request(method: string, body?: Record<string, unknown>, query: Record<string, string> = {}) {
    return { ...this.req, method, query, ...(body ? { body } : {}) } as RecordRequest;
  }

  /** One record by id (view rule applies for a caller), or null. */
  async findOne(
    collection: string,
    id: string,
    opts: { expand?: string; fields?: string } = {},
  ): Promise<Record<string, unknown> | null> {
    const c = this.collection(collection);
    const req = this.request("GET");
    try {
      const row = await this.records.view(c, id, req);
      return (await this.records.enrich(c, [row], req, opts))[0];
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** One record by id, or PocketBase's 404. */
  async getOne(collection: string, id: string, opts: { expand?: string; fields?: string } = {}) {
    const found = await this.findOne(collection, id, opts);
    if (!found) throw notFound();
    return found;
  }

  /** The first record matching a filter (placeholders bound from `params`), or null. */
  async findFirst(
    collection: string,
    filter: string,
    params: Record<string, unknown> = {},
  ): Promise<Record<string, unknown> | null> {
    const page = await this.list(collection, { filter, params, perPage: 1, skipTotal: true });
    return page.items[0] ?? null;
  }

  /** A page of records (list rule applies for a caller). */
  async list(collection: string, opts: ListOptions = {}): Promise<RecordsList> {
    const c = this.collection(collection);
    const filter = opts.filter ? bindFilter(opts.filter, opts.params) : "";
    const query: Record<string, string> = {};
    if (filter) query.filter = filter;
    if (opts.sort) query.sort = opts.sort;
    const req = this.request("GET", undefined, query);
    const page = await this.records.list(c, req, {
      page: Math.max(1, Math.floor(opts.page ?? 1)),
      perPage: Math.min(1000, Math.max(1, Math.floor(opts.perPage ?? 30))),
      skipTotal: opts.skipTotal ?? false,
      filter,
      sort: opts.sort ?? "",
    });
    const items = await this.records.enrich(c, page.items, req, { expand: opts.expand, fields: opts.fields });
    return { ...page, items };
  }

  /** Creates a record with the same validation and hooks as `POST …/records`. */
  async create(collection: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const c = this.collection(collection);
    const req = this.request("POST", { ...body });
    const row = await this.records.create(c, req);
    return (await this.records.enrich(c, [row], req))[0];
  }

  /** Updates a record with the same validation and hooks as `PATCH …/records/{id}`. */
  async update(
    collection: string,
    id: string,
    body: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const c = this.collection(collection);
    const req = this.request("PATCH", { ...body });
    const row = await this.records.update(c, id, req);
    return (await this.records.enrich(c, [row], req))[0];
  }

  /** Deletes a record (and its cascade) with the same hooks as `DELETE …/records/{id}`. */
  async delete(collection: string, id: string): Promise<void> {
    await this.records.delete(this.collection(collection), id, this.request("DELETE"));
  }

  /**
   * Runs `fn` in one transaction: every write through the client it is given commits together or not at
   * all (a throw rolls back), and events and `…AfterSuccess` hooks follow the commit.
   */
  runInTransaction<T>(fn: (tx: RecordsClient) => Promise<T>): Promise<T> {
    return this.records.transaction((rs) => fn(this.withService(rs)));
  }
}
