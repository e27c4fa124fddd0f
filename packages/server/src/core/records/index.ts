export { deleteWithCascade, referencesTo, truncateCollection } from "./cascade.js";
export { deleteRow, findRow, findRowBy, insertRow, updateRow } from "./records-repo.js";
export {
  fieldValueToJSON,
  isSecretField,
  type RecordJSON,
  type RecordRow,
  serializeRecord,
  type VisibilityOptions,
} from "./serialize.js";
