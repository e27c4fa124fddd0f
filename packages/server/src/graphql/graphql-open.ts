import type { Logger } from "pino";
import type { CollectionsService } from "../core/collections/index.js";
import { lazyImport } from "../util/index.js";
import type { GraphqlService } from "./graphql-service.js";
import type { GraphqlLimits } from "./limits-config.js";

// graphql-js is loaded on the first GraphQL request, not at start-up (issue 19: about 14 MB of RSS)
const serviceModule = lazyImport("graphql", "the GraphQL API", () => import("./graphql-service.js"));

/** Loads graphql-js and makes the GraphQL API over the collections. */
export async function createGraphqlService(
  collections: CollectionsService,
  limits: GraphqlLimits,
  log: Logger,
): Promise<GraphqlService> {
  const { GraphqlService } = await serviceModule();
  return new GraphqlService(collections, limits, log);
}
