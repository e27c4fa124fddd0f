/** Who may ask for the schema (`__schema`, `__type`): superusers only, everyone, or no one. */
export type IntrospectionPolicy = "superusers" | "all" | "off";

/** The limits every GraphQL operation is checked against before it runs. */
export interface GraphqlLimits {
  /** Deepest field nesting (introspection fields not counted). */
  readonly maxDepth: number;
  /** Largest estimated cost: each field 1, times the page size under a list and the fan-out of relations. */
  readonly maxCost: number;
  /** Most aliased fields in one document. */
  readonly maxAliases: number;
  /** Largest page a list query returns; larger `perPage` values are clamped to it. */
  readonly maxPerPage: number;
  /** Most lexical tokens in one document (checked while parsing). */
  readonly maxTokens: number;
  /** Who may introspect the schema. */
  readonly introspection: IntrospectionPolicy;
}

/** The shipped limits. */
export const DEFAULT_GRAPHQL_LIMITS: GraphqlLimits = {
  maxDepth: 12,
  maxCost: 50_000,
  maxAliases: 30,
  maxPerPage: 500,
  maxTokens: 5_000,
  introspection: "superusers",
};
