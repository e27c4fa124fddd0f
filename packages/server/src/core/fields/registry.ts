import { autodateField } from "./autodate.js";
import { boolField } from "./bool.js";
import { dateField } from "./date.js";
import { editorField } from "./editor.js";
import { emailField } from "./email.js";
import type { FieldType, FieldTypeName } from "./field.js";
import { fileField } from "./file.js";
import { geoPointField } from "./geo-point.js";
import { jsonField } from "./json.js";
import { numberField } from "./number.js";
import { passwordField } from "./password.js";
import { relationField } from "./relation.js";
import { selectField } from "./select.js";
import { textField } from "./text.js";
import { urlField } from "./url.js";

/** Every field type by name. */
export const FIELD_TYPE_REGISTRY: Readonly<Record<FieldTypeName, FieldType>> = {
  text: textField,
  editor: editorField,
  number: numberField,
  bool: boolField,
  email: emailField,
  url: urlField,
  date: dateField,
  autodate: autodateField,
  select: selectField,
  json: jsonField,
  relation: relationField,
  file: fileField,
  password: passwordField,
  geoPoint: geoPointField,
};

/** The FieldType of a type name, or undefined for an unknown name. */
export function fieldType(name: string): FieldType | undefined {
  return Object.hasOwn(FIELD_TYPE_REGISTRY, name) ? FIELD_TYPE_REGISTRY[name as FieldTypeName] : undefined;
}
