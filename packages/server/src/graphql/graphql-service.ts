import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  type FormattedExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  getOperationAST,
  type OperationDefinitionNode,
  parse,
  printSchema,
  specifiedRules,
  validate,
} from "graphql";
import type { Logger } from "pino";
import type { CollectionsService } from "../core/collections/index.js";
import { DbUnavailableError } from "../db/index.js";
import { ApiError } from "../errors/index.js";
import { checkAliases, checkCost, NoIntrospection } from "./limits.js";
import type { GraphqlLimits } from "./limits-config.js";
import type { OperationContext } from "./resolvers.js";
import { buildSchema } from "./schema.js";

/** A GraphQL request as sent over HTTP. */
export interface GraphqlRequest {
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
}

/** A checked operation, ready to execute. */
export interface PreparedOperation {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly variables: Record<string, unknown>;
  readonly operationName?: string;
}

/** The longest query text accepted (characters). */
export const MAX_QUERY_LENGTH = 100_000;

/** How many checked documents are kept per schema. */
const DOCUMENT_CACHE_MAX = 500;
/** Longer queries are checked every time (the cache holds at most ~5 MB of query text). */
const CACHED_QUERY_MAX_LENGTH = 10_000;

const CODES: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  429: "TOO_MANY_REQUESTS",
  503: "SERVICE_UNAVAILABLE",
};

function requestError(message: string, code = "BAD_REQUEST"): GraphQLError {
  return new GraphQLError(message, { extensions: { code, status: 400 } });
}

/**
 * The GraphQL API: the schema generated from the collections (rebuilt when their version changes, which a
 * change on any instance bumps through the bus), the checks every operation passes before it runs (token,
 * alias, depth and cost limits; introspection policy), and errors in PocketBase's terms.
 */
export class GraphqlService {
  private cached: { version: number; schema: GraphQLSchema } | null = null;
  /** Parsed and validated documents of the current schema, by caller kind and query text (bounded). */
  private documents = new Map<string, DocumentNode | { errors: GraphQLError[] }>();

  constructor(
    private readonly collections: CollectionsService,
    readonly limits: GraphqlLimits,
    private readonly log: Logger,
  ) {}

  /** The schema of the collections as they are now. */
  schema(): GraphQLSchema {
    const version = this.collections.version;
    if (this.cached?.version !== version) {
      this.cached = { version, schema: buildSchema(this.collections.list()) };
      this.documents = new Map();
    }
    return this.cached.schema;
  }

  /** The schema in SDL (`basalt graphql-schema`, and for client generators). */
  sdl(): string {
    return printSchema(this.schema());
  }

  /**
   * Parses and checks one request for a caller: the document within the token and alias limits, valid
   * against the schema (introspection per the policy), the operation picked, within depth and cost. `kinds`
   * lists the operation types this transport runs (GET runs queries only).
   */
  prepare(
    req: GraphqlRequest,
    opts: { superuser: boolean; kinds: readonly ("query" | "mutation" | "subscription")[] },
  ): PreparedOperation | { errors: GraphQLError[]; status: number } {
    if (typeof req.query !== "string" || req.query.trim() === "") {
      return { errors: [requestError("The request must carry a GraphQL query.")], status: 400 };
    }
    if (req.query.length > MAX_QUERY_LENGTH) {
      return {
        errors: [requestError(`The query is longer than ${MAX_QUERY_LENGTH} characters.`)],
        status: 400,
      };
    }
    const schema = this.schema();
    const policy = this.limits.introspection;
    const introspect = policy === "all" || (policy === "superusers" && opts.superuser);
    // parsing and validation depend only on the text, the schema and the introspection policy: done once
    const key = `${introspect ? 1 : 0}\u0000${req.query}`;
    let checked = this.documents.get(key);
    if (!checked) {
      checked = this.check(schema, req.query, introspect);
      if (req.query.length <= CACHED_QUERY_MAX_LENGTH) {
        if (this.documents.size >= DOCUMENT_CACHE_MAX) {
          this.documents.delete(this.documents.keys().next().value as string);
        }
        this.documents.set(key, checked);
      }
    }
    if ("errors" in checked) return { errors: checked.errors, status: 400 };
    const document = checked;
    const operation = getOperationAST(document, req.operationName);
    if (!operation) {
      return { errors: [requestError("Name the operation to run (operationName).")], status: 400 };
    }
    if (!opts.kinds.includes(operation.operation)) {
      const message =
        operation.operation === "subscription"
          ? "Subscriptions run over /api/graphql/stream (GraphQL over SSE)."
          : "Only queries can be sent with GET; send mutations with POST.";
      return { errors: [requestError(message, "OPERATION_NOT_ALLOWED")], status: 405 };
    }
    const root = schema.getRootType(operation.operation);
    const variables = req.variables ?? {};
    if (root) {
      const cost = checkCost(document, operation, root, variables, this.limits);
      if (cost) return { errors: [cost], status: 400 };
    }
    return { schema, document, operation, variables, operationName: req.operationName };
  }

  private check(
    schema: GraphQLSchema,
    query: string,
    introspect: boolean,
  ): DocumentNode | { errors: GraphQLError[] } {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: this.limits.maxTokens, noLocation: false });
    } catch (err) {
      if (err instanceof GraphQLError) return { errors: [err] };
      throw err;
    }
    const aliases = checkAliases(document, this.limits.maxAliases);
    if (aliases) return { errors: [aliases] };
    const rules = introspect ? specifiedRules : [...specifiedRules, NoIntrospection];
    const errors = validate(schema, document, rules, { maxErrors: 20 });
    return errors.length ? { errors: [...errors] } : document;
  }

  /** Runs a prepared query or mutation; errors come back formatted (never SQL, never a stack). */
  async execute(op: PreparedOperation, context: OperationContext): Promise<FormattedExecutionResult> {
    const result = await execute({
      schema: op.schema,
      document: op.document,
      variableValues: op.variables,
      operationName: op.operationName,
      contextValue: context,
    });
    return this.format(result);
  }

  /** Formats a result's errors in PocketBase's terms (see {@link formatError}). */
  format(result: ExecutionResult): FormattedExecutionResult {
    const out: FormattedExecutionResult = { data: result.data };
    if (result.errors?.length) return { errors: result.errors.map((e) => this.formatError(e)), ...out };
    return out;
  }

  /**
   * One error as the client sees it: a records-service refusal keeps its message with `extensions.status`,
   * `code` and PocketBase's field errors in `extensions.data`; anything unexpected (a database failure) is
   * logged and sent as a generic message, so no SQL or stack leaves the server.
   */
  formatError(err: GraphQLError): GraphQLFormattedError {
    const original = err.originalError;
    if (!original || original instanceof GraphQLError) return err.toJSON();
    let api: ApiError;
    if (original instanceof ApiError) api = original;
    else if (original instanceof DbUnavailableError) {
      this.log.warn({ err: original }, "database unavailable");
      api = new ApiError(503, "The service is temporarily unavailable, please try again.");
    } else {
      this.log.error({ err: original, path: err.path }, "graphql resolver failed");
      api = new ApiError(500);
    }
    return new GraphQLError(api.message, {
      nodes: err.nodes,
      path: err.path,
      extensions: { code: CODES[api.status] ?? "INTERNAL", status: api.status, data: api.data },
    }).toJSON();
  }
}
