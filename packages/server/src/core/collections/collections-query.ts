import { badRequest } from "../../errors/index.js";
import type { Collection } from "./model.js";

/**
 * Filters and sorts collections for the list route. Until the filter language lands (issue 7), only the
 * default order is served and a filter or sort is refused with a 400 that says so.
 */
export function listCollections(all: Collection[], filter: string, sort: string): Collection[] {
  if (filter.trim() || sort.trim()) {
    throw badRequest("Filtering and sorting collections is not supported yet.");
  }
  return all;
}
