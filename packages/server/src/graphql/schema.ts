import {
  GraphQLBoolean,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  GraphQLFloat,
  GraphQLID,
  type GraphQLInputFieldConfigMap,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLOutputType,
  GraphQLSchema,
  GraphQLString,
} from "graphql";
import { type Collection, isAuthCollection } from "../core/collections/index.js";
import { type Field, isMultiValued } from "../core/fields/index.js";
import { isSecretField } from "../core/records/index.js";
import { type CollectionNames, collectionNames, isGraphqlName } from "./names.js";
import {
  listField,
  mutationFields,
  type OperationContext,
  subscriptionField,
  viewField,
} from "./resolvers.js";
import { GeoPointInputType, GeoPointType, JsonScalar } from "./scalars.js";
import type { Rec } from "./scope.js";

/** The estimated number of records a back-relation yields per parent, for the cost limit. */
export const BACK_RELATION_COST = 100;

/** One collection's place in the schema: its names and (built lazily) types. */
export interface CollectionTypes {
  readonly collection: Collection;
  readonly names: CollectionNames;
  readonly record: GraphQLObjectType<Rec, OperationContext>;
}

const str = (items: boolean): GraphQLOutputType & GraphQLInputType =>
  items ? new GraphQLList(new GraphQLNonNull(GraphQLString)) : GraphQLString;

/**
 * The GraphQL type of a field's API value: the same for output and input (every input field is optional:
 * validation says what is missing) but for geo points, which have an input type of their own.
 */
function fieldType<T extends GraphQLOutputType | GraphQLInputType>(field: Field, geoPoint: T): T {
  switch (field.type) {
    case "number":
      return GraphQLFloat as T;
    case "bool":
      return GraphQLBoolean as T;
    case "json":
      return JsonScalar as T;
    case "geoPoint":
      return geoPoint;
    case "select":
    case "relation":
    case "file":
      return str(isMultiValued(field)) as T;
    default:
      return GraphQLString as T;
  }
}

/** The output type of a stored field's API value. */
const outputType = (field: Field): GraphQLOutputType => fieldType<GraphQLOutputType>(field, GeoPointType);

/** The input type of a field in a create or update. */
const inputType = (field: Field): GraphQLInputType => fieldType<GraphQLInputType>(field, GeoPointInputType);

/** The fields of a record the schema shows (secrets never; names GraphQL cannot spell are left out). */
function visibleFields(c: Collection): Field[] {
  return c.fields.filter((f) => f.name !== "id" && isGraphqlName(f.name) && !isSecretField(c, f));
}

function recordType(
  c: Collection,
  names: CollectionNames,
  entry: () => CollectionTypes,
  all: Map<string, CollectionTypes>,
): GraphQLObjectType {
  return new GraphQLObjectType<Rec, OperationContext>({
    name: names.record,
    description: `A record of the "${c.name}" collection, as the caller may see it.`,
    fields: () => {
      const { collection: c, names } = entry();
      const fields: GraphQLFieldConfigMap<Rec, OperationContext> = {
        id: { type: new GraphQLNonNull(GraphQLID), resolve: (r) => r.json.id },
        collectionId: { type: new GraphQLNonNull(GraphQLString), resolve: (r) => r.collection.id },
        collectionName: { type: new GraphQLNonNull(GraphQLString), resolve: (r) => r.collection.name },
      };
      for (const f of visibleFields(c)) {
        if (f.name in fields) continue;
        const name = f.name;
        fields[name] = {
          type: outputType(f),
          description: f.hidden ? "Hidden: only superusers see it." : undefined,
          resolve: (r) => r.json[name] ?? null,
        };
      }
      const expand = expandType(c, names, all);
      if (expand && !("expand" in fields)) {
        fields.expand = {
          type: new GraphQLNonNull(expand),
          description: "Related records, each checked against its own view rule (REST's `expand`).",
          resolve: (r) => r,
        };
      }
      return fields;
    },
  });
}

/** `<Name>Expand`: relation fields as records, and `<source>_via_<field>` back-relations as lists. */
function expandType(
  c: Collection,
  names: CollectionNames,
  all: Map<string, CollectionTypes>,
): GraphQLObjectType | null {
  const fields: GraphQLFieldConfigMap<Rec, OperationContext> = {};
  for (const f of visibleFields(c)) {
    if (f.type !== "relation") continue;
    const target = all.get(String(f.collectionId));
    if (!target) continue;
    const many = isMultiValued(f);
    fields[f.name] = {
      type: many ? new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(target.record))) : target.record,
      extensions: { basaltCost: many ? Math.max(2, Number(f.maxSelect) || 2) : 1 },
      resolve: async (r) => {
        const found = await r.scope.related(r, f);
        return many ? found : (found[found.length - 1] ?? null);
      },
    };
  }
  for (const source of all.values()) {
    for (const f of visibleFields(source.collection)) {
      if (f.type !== "relation" || f.collectionId !== c.id) continue;
      const name = `${source.collection.name}_via_${f.name}`;
      if (name in fields) continue;
      fields[name] = {
        type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(source.record))),
        description: `Records of "${source.collection.name}" whose "${f.name}" points to this record.`,
        extensions: { basaltCost: BACK_RELATION_COST },
        resolve: (r) => r.scope.backRelated(r, source.collection, f),
      };
    }
  }
  if (!Object.keys(fields).length) return null;
  return new GraphQLObjectType<Rec, OperationContext>({ name: names.expand, fields });
}

/** The create (all fields optional, plus `id`) and update inputs of a collection. */
function inputTypes(c: Collection, names: CollectionNames) {
  const build = (update: boolean): GraphQLInputObjectType | null => {
    if (c.type === "view") return null;
    const fields: GraphQLInputFieldConfigMap = {};
    if (!update) fields.id = { type: GraphQLString };
    for (const f of c.fields) {
      if (f.name === "id" || f.type === "autodate" || !isGraphqlName(f.name)) continue;
      if (c.type === "auth" && f.name === "tokenKey") continue;
      fields[f.name] = { type: inputType(f) };
    }
    if (isAuthCollection(c)) {
      fields.passwordConfirm ??= { type: GraphQLString };
      if (update) fields.oldPassword ??= { type: GraphQLString };
    }
    return new GraphQLInputObjectType({ name: update ? names.updateInput : names.createInput, fields });
  };
  return { create: build(false), update: build(true) };
}

/**
 * Builds the GraphQL schema of a set of collections: per collection a record type, a page type, list and
 * view queries, create/update/delete mutations (not for views), password sign-in and refresh for auth
 * collections, and a subscription to its record changes. Every resolver goes through the records service
 * with the caller's request; the schema itself holds no data and is rebuilt when the collections change.
 */
export function buildSchema(collections: readonly Collection[]): GraphQLSchema {
  const all = new Map<string, CollectionTypes>();
  for (const c of collections) {
    const names = collectionNames(c);
    if (!names) continue;
    let entry: CollectionTypes;
    const record = recordType(c, names, () => entry, all);
    entry = { collection: c, names, record };
    all.set(c.id, entry);
  }
  const query: GraphQLFieldConfigMap<unknown, OperationContext> = {};
  const mutation: GraphQLFieldConfigMap<unknown, OperationContext> = {};
  const subscription: GraphQLFieldConfigMap<unknown, OperationContext> = {};
  for (const t of all.values()) {
    const { collection: c, names, record } = t;
    const page = new GraphQLObjectType({
      name: names.page,
      fields: {
        page: { type: new GraphQLNonNull(GraphQLInt) },
        perPage: { type: new GraphQLNonNull(GraphQLInt) },
        totalItems: { type: new GraphQLNonNull(GraphQLInt), description: "-1 with skipTotal." },
        totalPages: { type: new GraphQLNonNull(GraphQLInt), description: "-1 with skipTotal." },
        items: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(record))) },
      },
    });
    query[names.list] = listField(c, page);
    query[names.view] = viewField(c, record);
    Object.assign(mutation, mutationFields(c, names, record, inputTypes(c, names)));
    subscription[names.watch] = subscriptionField(
      c,
      new GraphQLObjectType({
        name: names.event,
        fields: {
          action: { type: new GraphQLNonNull(GraphQLString), description: "create, update or delete." },
          record: { type: new GraphQLNonNull(record) },
        },
      }),
    );
  }
  const root = (name: string, fields: GraphQLFieldConfigMap<unknown, OperationContext>) =>
    Object.keys(fields).length ? new GraphQLObjectType({ name, fields }) : undefined;
  return new GraphQLSchema({
    query: root("Query", query) ?? new GraphQLObjectType({ name: "Query", fields: emptyQuery() }),
    mutation: root("Mutation", mutation),
    subscription: root("Subscription", subscription),
  });
}

function emptyQuery(): GraphQLFieldConfigMap<unknown, OperationContext> {
  const ok: GraphQLFieldConfig<unknown, OperationContext> = { type: GraphQLBoolean, resolve: () => true };
  return { ok };
}
