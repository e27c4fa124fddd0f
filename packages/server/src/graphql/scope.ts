import type { AuthAnswer } from "../auth/flows/index.js";
import type { RequestAuth } from "../auth/index.js";
import type { AuthCollection, Collection } from "../core/collections/index.js";
import type { Field } from "../core/fields/index.js";
import {
  type ExpandBudget,
  fieldValueToJSON,
  type RecordRequest,
  type RecordRow,
  type RecordsService,
} from "../core/records/index.js";
import { BatchLoader } from "./loader.js";

/** A records operation as its REST route names it (for rate limits). */
export type RecordsAction = "list" | "view" | "create" | "update" | "delete";

export type { AuthAnswer } from "../auth/flows/index.js";

/** The password sign-in arguments, as the REST body carries them. */
export interface PasswordSignIn {
  readonly identity: string;
  readonly password: string;
  readonly identityField?: string;
  readonly mfaId?: string;
}

/**
 * What the HTTP layer does for GraphQL the way it does it for REST: rate limits per records action, the
 * empty-search throttle of lists, and the sign-in routes' answers (auth rule, MFA, token).
 */
export interface GraphqlHooks {
  rateLimit(collection: Collection, action: RecordsAction): Promise<void>;
  afterList(collection: Collection, filtered: boolean, count: number): Promise<void>;
  authWithPassword(collection: AuthCollection, input: PasswordSignIn): Promise<AuthAnswer>;
  authRefresh(collection: AuthCollection): Promise<AuthAnswer>;
}

/** A record as GraphQL resolves it: its API JSON (what the caller may see) and the scope that loaded it. */
export interface Rec {
  readonly collection: Collection;
  readonly json: Record<string, unknown>;
  readonly scope: Scope;
}

function idsOf(field: Field, value: unknown): string[] {
  const v = fieldValueToJSON(field, value);
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string" && x !== "");
  return typeof v === "string" && v !== "" ? [v] : [];
}

/**
 * One GraphQL operation's (or one subscription event's) view of the records: the caller's request, and
 * batch loaders so the relations of every record at one level load with one records-service call per
 * relation field (no N+1), each expanded record checked exactly as REST's `expand` checks it.
 */
export class Scope {
  private readonly loaders = new Map<string, BatchLoader<Rec[]>>();
  /** The expanded records this operation may still load (REST's per-response budget). */
  private readonly budget: ExpandBudget;

  constructor(
    readonly records: RecordsService,
    readonly req: RecordRequest,
    readonly hooks: GraphqlHooks | null,
  ) {
    this.budget = records.expandBudget();
  }

  /** The caller's request for one records action, with the arguments REST would carry as its query. */
  request(method: string, query: Record<string, string> = {}, body?: Record<string, unknown>): RecordRequest {
    return { ...this.req, method, query, ...(body ? { body } : {}) };
  }

  /** Rows as records the caller may see (hidden fields and e-mails left out as on REST). */
  async recs(collection: Collection, rows: RecordRow[], req: RecordRequest = this.req): Promise<Rec[]> {
    const json = await this.records.enrich(collection, rows, req);
    return json.map((j) => ({ collection, json: j, scope: this }));
  }

  /** A new scope for the same caller, with empty caches (each subscription event loads relations anew). */
  fresh(): Scope {
    return new Scope(this.records, this.req, this.hooks);
  }

  /** A scope for the same operation as another caller (the record a sign-in returns, seen by its owner). */
  as(auth: RequestAuth): Scope {
    return new Scope(this.records, { ...this.req, auth }, this.hooks);
  }

  private loader(key: string, load: (keys: string[]) => Promise<Map<string, Rec[]>>): BatchLoader<Rec[]> {
    let l = this.loaders.get(key);
    if (!l) {
      l = new BatchLoader(load, []);
      this.loaders.set(key, l);
    }
    return l;
  }

  /** The records a relation field of `rec` points to, in stored order (those the caller may not see left out). */
  async related(rec: Rec, field: Field): Promise<Rec[]> {
    const ids = idsOf(field, rec.json[field.name]);
    if (!ids.length) return [];
    const collection = rec.collection;
    const l = this.loader(`r\u0000${collection.id}\u0000${field.name}`, async (keys) => {
      const found = await this.records.related(collection, field.name, keys, this.req, this.budget);
      const out = new Map<string, Rec[]>();
      if (!found) return out;
      for (const r of await this.recs(found.target, found.rows)) out.set(String(r.json.id), [r]);
      return out;
    });
    return (await Promise.all(ids.map((id) => l.load(id)))).flat();
  }

  /** The records of `source` whose relation `field` points to `rec` (a back-relation). */
  async backRelated(rec: Rec, source: Collection, field: Field): Promise<Rec[]> {
    const collection = rec.collection;
    const l = this.loader(`b\u0000${collection.id}\u0000${source.id}\u0000${field.name}`, async (keys) => {
      const found = await this.records.backRelated(
        collection,
        source.name,
        field.name,
        keys,
        this.req,
        this.budget,
      );
      const out = new Map<string, Rec[]>();
      if (!found) return out;
      const children = await this.recs(found.source, found.rows);
      found.rows.forEach((row, k) => {
        const parents = idsOf(field, row[field.name]);
        for (const p of parents) {
          const list = out.get(p) ?? [];
          list.push(children[k]);
          out.set(p, list);
        }
      });
      return out;
    });
    return l.load(String(rec.json.id));
  }
}
