export {
  FIELD_TYPES,
  type Field,
  type FieldType,
  type FieldTypeName,
  isMultiValued,
  MAX_SAFE_INT,
  type OptionKind,
  type SettingsContext,
} from "./field.js";
export { FIELD_TYPE_REGISTRY, fieldType } from "./registry.js";
