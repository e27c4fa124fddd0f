import type { FieldTypeName } from "../../fields/index.js";
import { fileValues, relationValues, selectValues } from "./multi-values.js";
import {
  autodateValues,
  boolValues,
  dateValues,
  geoPointValues,
  jsonValues,
  numberValues,
} from "./scalar-values.js";
import { editorValues, emailValues, passwordValues, textValues, urlValues } from "./text-values.js";
import type { FieldValues } from "./value-kit.js";

/** The record-value behaviour of every field type. */
export const FIELD_VALUES: Readonly<Record<FieldTypeName, FieldValues>> = {
  text: textValues,
  editor: editorValues,
  number: numberValues,
  bool: boolValues,
  email: emailValues,
  url: urlValues,
  date: dateValues,
  autodate: autodateValues,
  select: selectValues,
  json: jsonValues,
  relation: relationValues,
  file: fileValues,
  password: passwordValues,
  geoPoint: geoPointValues,
};

export { DEFAULT_FILE_MAX_SIZE, valueList } from "./multi-values.js";
export { isEmailFormat } from "./text-values.js";
export { BadValue, type FieldValues, type Modifier, type ValueContext } from "./value-kit.js";
