import { pb } from "./pb.js";

/** The collections the dashboard knows, reloaded after every change. */
export const schema = $state({ list: [], loaded: false, error: "" });

/** Reloads every collection definition. */
export async function loadCollections() {
  try {
    schema.list = await pb.collections.getFullList({ sort: "name", batch: 500 });
    schema.loaded = true;
    schema.error = "";
  } catch (err) {
    schema.error = err?.message || String(err);
  }
  return schema.list;
}

/** A collection by id or name. */
export function findCollection(idOrName) {
  return schema.list.find((c) => c.id === idOrName || c.name === idOrName);
}

/** The field types and what the dashboard says about each. */
export const FIELD_TYPES = [
  ["text", "Plain text"],
  ["editor", "Rich text (HTML)"],
  ["number", "Number"],
  ["bool", "Bool"],
  ["email", "E-mail"],
  ["url", "URL"],
  ["date", "Date and time"],
  ["autodate", "Autodate (created/updated)"],
  ["select", "Select"],
  ["json", "JSON"],
  ["relation", "Relation"],
  ["file", "File"],
  ["password", "Password"],
  ["geoPoint", "Geo point"],
];
