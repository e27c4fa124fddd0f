export { bindFilterParams } from "./filter-params.js";
export { createGraphqlService } from "./graphql-open.js";
export type { GraphqlRequest, GraphqlService, PreparedOperation } from "./graphql-service.js";
export { DEFAULT_GRAPHQL_LIMITS, type GraphqlLimits, type IntrospectionPolicy } from "./limits-config.js";
export { collectionNames } from "./names.js";
export type { OperationContext, RecordChange } from "./resolvers.js";
export {
  type AuthAnswer,
  type GraphqlHooks,
  type PasswordSignIn,
  type RecordsAction,
  Scope,
} from "./scope.js";
export { recordChanges } from "./subscriptions.js";
