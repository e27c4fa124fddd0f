export {
  type CollectionsListener,
  CollectionsService,
  type CollectionsServiceOptions,
} from "./collections-service.js";
export {
  authIndexes,
  defaultCollectionId,
  defaultFieldId,
  initialCollections,
  makeField,
  newCollection,
  newTokenSecret,
  SUPERUSERS,
  SUPERUSERS_ID,
  scaffolds,
  USERS_ID,
} from "./defaults.js";
export { formatIndex, type ParsedIndex, parseIndex } from "./indexes.js";
export {
  type AuthCollection,
  type AuthOptions,
  type Collection,
  type CollectionType,
  collectionToJSON,
  type EmailTemplate,
  findField,
  isAuthCollection,
  RULE_NAMES,
  type RuleName,
  type TokenConfig,
} from "./model.js";
export { checkRule, schemaOf } from "./rule-checker.js";
export {
  createSearchIndex,
  MAX_SEARCH_FIELDS,
  SEARCH_FIELD_TYPES,
  type SearchOptions,
  searchIndexName,
  searchIndexSpec,
} from "./search.js";
export {
  COLLECTIONS_TABLE,
  COLLECTIONS_TABLE_SPEC,
  collectionTableSpec,
  loadCollectionRows,
  mapOAuth2Secrets,
  PARAMS_TABLE,
  PARAMS_TABLE_SPEC,
  saveCollectionRow,
} from "./store.js";
export { generateTypes, typeName } from "./typegen.js";
export { INTERNAL_TABLES, validateCollection } from "./validate.js";
