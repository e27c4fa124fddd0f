export { bindFilter, type FilterParam } from "./bind-filter.js";
export { deleteWithCascade, referencesTo, truncateCollection } from "./cascade.js";
export { DEFAULT_EXPAND_MAX_RECORDS, ExpandBudget } from "./expand-budget.js";
export {
  BadValue,
  DEFAULT_FILE_MAX_SIZE,
  FIELD_VALUES,
  type FieldValues,
  isEmailFormat,
} from "./field-values/index.js";
export { planDeletedFiles } from "./files-plan.js";
export { type FieldsSpec, parseFields, pickFields } from "./pick-fields.js";
export {
  API_KEY_ACTIONS,
  type ApiKeyAction,
  type ApiKeyScope,
  checkScope,
  type RecordRequest,
  ruleSchema,
  scopeAllows,
  toRequestInfo,
} from "./record-request.js";
export { type ListOptions, RecordsClient, type RecordsList } from "./records-client.js";
export { MAX_EXPAND_DEPTH, parseExpand } from "./records-enrich.js";
export type { ListQuery } from "./records-query.js";
export { deleteRow, findRow, findRowBy, insertRow, updateRow } from "./records-repo.js";
export {
  type RecordsLimits,
  type RecordsPage,
  RecordsService,
  type RecordsServiceDeps,
} from "./records-service.js";
export { rowMatchesRule } from "./records-write.js";
export { rowCte } from "./row-cte.js";
export {
  fieldValueToJSON,
  isSecretField,
  type RecordJSON,
  type RecordRow,
  serializeRecord,
  type VisibilityOptions,
} from "./serialize.js";
