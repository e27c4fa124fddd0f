import type { FieldType } from "./field.js";

/** A longitude/latitude pair `{lon, lat}`. Stored as a JSON object, default `{"lon":0,"lat":0}`. */
export const geoPointField: FieldType = {
  type: "geoPoint",
  options: { required: { kind: "bool", default: false } },
  isMultiple: () => false,
  columnKind: () => "geoPoint",
  validateSettings: () => null,
};
