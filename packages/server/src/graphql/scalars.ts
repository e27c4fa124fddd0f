import {
  GraphQLError,
  GraphQLFloat,
  GraphQLInputObjectType,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  Kind,
  type ValueNode,
} from "graphql";

/** Reads a JSON value from a literal, resolving variables; `__proto__`-like keys are dropped. */
function literalToJson(node: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.ENUM:
      return node.value;
    case Kind.LIST:
      return node.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT: {
      const out: Record<string, unknown> = {};
      for (const f of node.fields) {
        if (f.name.value === "__proto__" || f.name.value === "constructor") continue;
        out[f.name.value] = literalToJson(f.value, variables);
      }
      return out;
    }
    case Kind.VARIABLE:
      return variables?.[node.name.value];
  }
}

/** Any JSON value: json fields, filter parameters, records' raw bodies. */
export const JsonScalar = new GraphQLScalarType({
  name: "JSON",
  description: "Any JSON value (object, array, string, number, boolean or null).",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalToJson,
});

/** A geoPoint field's value. */
export const GeoPointType = new GraphQLObjectType({
  name: "GeoPoint",
  fields: {
    lon: { type: new GraphQLNonNull(GraphQLFloat) },
    lat: { type: new GraphQLNonNull(GraphQLFloat) },
  },
});

/** A geoPoint field's value in a create or update. */
export const GeoPointInputType = new GraphQLInputObjectType({
  name: "GeoPointInput",
  fields: {
    lon: { type: new GraphQLNonNull(GraphQLFloat) },
    lat: { type: new GraphQLNonNull(GraphQLFloat) },
  },
});

/** An error raised while building arguments (a bad filter parameter): a 400 in PocketBase's terms. */
export function inputError(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: "BAD_REQUEST",
      status: 400,
      data: field ? { [field]: { code: "validation_invalid_value", message } } : {},
    },
  });
}
