import {
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  GraphQLObjectType,
  getNamedType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
  visit,
} from "graphql";
import type { GraphqlLimits } from "./limits-config.js";
import { DEFAULT_PER_PAGE } from "./resolvers.js";

/** A query refused by a limit; reported with `extensions.code`. */
function limitError(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, status: 400 } });
}

/** Counts the aliased fields of a document (refused over the limit before anything else is checked). */
export function checkAliases(doc: DocumentNode, max: number): GraphQLError | null {
  let n = 0;
  visit(doc, {
    Field(node) {
      if (node.alias) n++;
    },
  });
  return n > max
    ? limitError("ALIAS_LIMIT", `The query uses ${n} aliases; at most ${max} are allowed.`)
    : null;
}

/** A validation rule refusing `__schema` and `__type` (`__typename` stays allowed). */
export function NoIntrospection(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const name = node.name.value;
      if (name === "__schema" || name === "__type") {
        context.reportError(
          new GraphQLError("Introspection is disabled for this caller.", {
            nodes: node,
            extensions: { code: "INTROSPECTION_DISABLED", status: 403 },
          }),
        );
      }
    },
  };
}

function intArg(node: ValueNode | undefined, variables: Record<string, unknown>): number | undefined {
  if (!node) return undefined;
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) {
    const v = variables[node.name.value];
    return typeof v === "number" ? v : undefined;
  }
  return undefined;
}

/**
 * Measures an operation that passed validation: its depth and estimated cost, walking fragments as they are
 * spread. Stops at the first limit passed, so a document built to blow up the walk is refused early.
 */
export function checkCost(
  doc: DocumentNode,
  operation: OperationDefinitionNode,
  root: GraphQLObjectType,
  variables: Record<string, unknown>,
  limits: GraphqlLimits,
): GraphQLError | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let cost = 0;
  let visits = 0;
  // depth first (a deep query is refused as deep, not as costly), then cost
  let counting = false;
  const stop = (err: GraphQLError) => {
    throw err;
  };
  const walk = (set: SelectionSetNode, parent: GraphQLNamedType, depth: number, weight: number): void => {
    if (++visits > limits.maxCost * 4) stop(limitError("COST_LIMIT", "The query is too complex."));
    for (const sel of set.selections) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        if (f) walk(f.selectionSet, parent, depth, weight);
        continue;
      }
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        walk(sel.selectionSet, parent, depth, weight);
        continue;
      }
      const name = sel.name.value;
      if (name.startsWith("__")) continue;
      if (depth > limits.maxDepth) {
        stop(limitError("DEPTH_LIMIT", `The query is nested deeper than ${limits.maxDepth} levels.`));
      }
      if (counting) cost += weight;
      if (cost > limits.maxCost) {
        stop(limitError("COST_LIMIT", `The query's estimated cost passes the limit of ${limits.maxCost}.`));
      }
      if (!sel.selectionSet || !(parent instanceof GraphQLObjectType)) continue;
      const def = parent.getFields()[name];
      if (!def) continue;
      const hint = def.extensions?.basaltCost;
      let fan = 1;
      if (hint === "page") {
        const asked = intArg(sel.arguments?.find((a) => a.name.value === "perPage")?.value, variables);
        fan = Math.min(!asked || asked < 1 ? DEFAULT_PER_PAGE : asked, limits.maxPerPage);
      } else if (typeof hint === "number") fan = hint;
      walk(sel.selectionSet, getNamedType(def.type), depth + 1, weight * fan);
    }
  };
  try {
    walk(operation.selectionSet, root, 1, 1);
    counting = true;
    visits = 0;
    walk(operation.selectionSet, root, 1, 1);
  } catch (err) {
    if (err instanceof GraphQLError) return err;
    throw err;
  }
  return null;
}
