export type { CompareOp, Comparison, FilterExpr, Logical, Operand } from "./ast.js";
export { type BuildSelectOptions, buildCount, buildSelect, sqlFilter } from "./build-select.js";
export {
  type CompiledFilter,
  type CompileFilterOptions,
  clearRulesCache,
  compileFilter,
  type FilterLimits,
  observeRuleCompiles,
  type RuleCompileObserver,
  rulesCacheSize,
  rulesCacheStats,
} from "./compile-filter.js";
export { type CompiledSort, type CompileSortOptions, compileSort, MAX_SORT_KEYS } from "./compile-sort.js";
export { FilterError, FilterForbiddenError } from "./errors.js";
export { type Token, type TokenKind, tokenize } from "./lexer.js";
export { DATE_MACROS } from "./macros.js";
export { FILTER_LIMITS, parseFilter } from "./parser.js";
export { EMPTY_REQUEST, type RequestInfo } from "./request.js";
export type { RuleCollection, RuleField, RuleFieldType, RuleSchema } from "./schema.js";
export { type ValidateRuleOptions, validateRule } from "./validate-rule.js";
