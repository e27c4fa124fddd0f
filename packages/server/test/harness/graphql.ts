import type { TestServer } from "./server.js";

/** A GraphQL answer: HTTP status and the `{data, errors}` body. */
export interface GqlAnswer {
  status: number;
  /** The `data` object (empty when the answer has none). */
  data: Record<string, unknown>;
  errors:
    | { message: string; path?: string[]; extensions?: { code?: string; status?: number; data?: unknown } }[]
    | undefined;
}

/** Sends a GraphQL operation to `/api/graphql` (POST, or GET with `get`), as a guest or with a token. */
export async function gql(
  server: TestServer,
  query: string,
  opts: { variables?: Record<string, unknown>; token?: string; get?: boolean; operationName?: string } = {},
): Promise<GqlAnswer> {
  let res: Response;
  if (opts.get) {
    const params = new URLSearchParams({ query });
    if (opts.variables) params.set("variables", JSON.stringify(opts.variables));
    if (opts.operationName) params.set("operationName", opts.operationName);
    res = await server.fetch(`/api/graphql?${params}`, { token: opts.token });
  } else {
    res = await server.fetch("/api/graphql", {
      method: "POST",
      token: opts.token,
      json: { query, variables: opts.variables, operationName: opts.operationName },
    });
  }
  const body = (await res.json()) as { data?: Record<string, unknown> | null; errors?: GqlAnswer["errors"] };
  return { status: res.status, data: body.data ?? {}, errors: body.errors };
}

/** The first error's `extensions.status` (the REST status of the same refusal). */
export function errorStatus(a: GqlAnswer): number | undefined {
  return a.errors?.[0]?.extensions?.status;
}
