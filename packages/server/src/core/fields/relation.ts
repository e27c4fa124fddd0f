import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** References to records of another collection. Single: TEXT; multiple (maxSelect > 1): a JSON array of ids. */
export const relationField: FieldType = {
  type: "relation",
  options: {
    cascadeDelete: { kind: "bool", default: false },
    collectionId: { kind: "string", default: "" },
    maxSelect: { kind: "int", default: 0 },
    minSelect: { kind: "int", default: 0 },
    required: { kind: "bool", default: false },
  },
  isMultiple: (field) => Number(field.maxSelect) > 1,
  columnKind: (field) => (Number(field.maxSelect) > 1 ? "jsonArray" : "text"),
  validateSettings(field, ctx) {
    const e = new SettingsErrors();
    const targetId = String(field.collectionId ?? "");
    const target = targetId ? ctx.findCollection(targetId) : undefined;
    if (!targetId) e.add("collectionId", "validation_required", "Cannot be blank.");
    else if (!target || target.id !== targetId) {
      e.add(
        "collectionId",
        "validation_field_relation_missing_collection",
        "The relation collection doesn't exist.",
      );
    } else if (target.type === "view" && ctx.collection.type !== "view") {
      e.add(
        "collectionId",
        "validation_relation_field_non_view_base_collection",
        "Only view collections are allowed to have relations to other views.",
      );
    }
    if (ctx.previous && ctx.previous.collectionId !== field.collectionId) {
      e.add("collectionId", "validation_field_relation_change", "The relation collection cannot be changed.");
    }
    e.int("minSelect", field.minSelect);
    if (Number(field.minSelect) > 0) e.int("maxSelect", field.maxSelect, Number(field.minSelect));
    else e.int("maxSelect", field.maxSelect);
    return e.result();
  },
};
