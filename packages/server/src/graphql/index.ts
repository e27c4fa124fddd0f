export { bindFilterParams } from "./filter-params.js";
export {
  type GraphqlRequest,
  GraphqlService,
  MAX_QUERY_LENGTH,
  type PreparedOperation,
} from "./graphql-service.js";
export { DEFAULT_GRAPHQL_LIMITS, type GraphqlLimits, type IntrospectionPolicy } from "./limits.js";
export { collectionNames } from "./names.js";
export type { OperationContext, RecordChange } from "./resolvers.js";
export { buildSchema } from "./schema.js";
export {
  type AuthAnswer,
  type GraphqlHooks,
  type PasswordSignIn,
  type RecordsAction,
  Scope,
} from "./scope.js";
export { recordChanges } from "./subscriptions.js";
