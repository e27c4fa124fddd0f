import { badRequest } from "../errors/index.js";

/** PocketBase's default page size. */
export const DEFAULT_PER_PAGE = 30;
/** PocketBase's largest page size; larger requests are clamped to it. */
export const MAX_PER_PAGE = 1000;

/** The paging part of a list request. */
export interface ListParams {
  page: number;
  perPage: number;
  skipTotal: boolean;
  filter: string;
  sort: string;
  /** Full-text search words (issue 18, beyond PocketBase); "" for none. */
  search: string;
}

function firstString(value: unknown): string {
  if (Array.isArray(value)) return firstString(value[0]);
  return typeof value === "string" ? value : "";
}

function parsePositiveInt(raw: string, name: string): number | undefined {
  if (raw === "") return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw badRequest(`Invalid "${name}" query parameter.`);
  return Number(raw);
}

/**
 * Reads page/perPage/skipTotal/filter/sort from a query string object, as PocketBase interprets them, and
 * Basalt's `search`.
 */
export function readListParams(query: unknown): ListParams {
  const q = (query ?? {}) as Record<string, unknown>;
  const page = parsePositiveInt(firstString(q.page), "page");
  const perPage = parsePositiveInt(firstString(q.perPage), "perPage");
  const skip = firstString(q.skipTotal).toLowerCase();
  const size = !perPage || perPage < 1 ? DEFAULT_PER_PAGE : Math.min(perPage, MAX_PER_PAGE);
  // a page past any possible offset is simply empty; keep the offset a safe integer for the database
  const lastPage = Math.floor(Number.MAX_SAFE_INTEGER / size);
  return {
    page: !page || page < 1 ? 1 : Math.min(page, lastPage),
    perPage: size,
    skipTotal: skip === "1" || skip === "true" || skip === "t",
    filter: firstString(q.filter),
    sort: firstString(q.sort),
    search: firstString(q.search),
  };
}

/** The list answer PocketBase sends. */
export function listResult<T>(params: ListParams, items: T[], totalItems: number | null) {
  return {
    page: params.page,
    perPage: params.perPage,
    totalItems: totalItems ?? -1,
    totalPages: totalItems === null ? -1 : Math.ceil(totalItems / params.perPage),
    items,
  };
}
