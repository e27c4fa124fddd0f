import { BlockList, isIP } from "node:net";
import { type ErrorData, fieldError } from "../../errors/index.js";
import { isPlainObject } from "../../util/index.js";

/** One rate-limit rule (PocketBase's `rateLimits.rules[]`). */
export interface RateLimitRule {
  /** A tag (`name`), `collection:action`, `*:action`, an exact path, a path prefix ending in `/`, or `METHOD /path`. */
  label: string;
  /** `""` for everyone, `@guest` for requests without auth, `@auth` for requests with an auth record. */
  audience: string;
  /** The window, in seconds. */
  duration: number;
  /** Requests allowed per window and client IP. */
  maxRequests: number;
}

/** The audiences a rule may name. */
export const RATE_LIMIT_AUDIENCES = ["", "@guest", "@auth"] as const;

/** The audiences whose rules apply to a guest request and to an authenticated one. */
export const GUEST_AUDIENCES: readonly string[] = ["", "@guest"];
export const AUTH_AUDIENCES: readonly string[] = ["", "@auth"];

// PocketBase's label grammar: `METHOD /path`, `/path`, `collection:action`, `*:action` or a plain tag.
const LABEL = /^(\w+ \/[\w/-]*|\/[\w/-]*|\w+:\w+|\*:\w+|\w+)$/;

/**
 * The rule that applies to a request, as PocketBase picks it: labels are tried in order (most specific
 * first); for each, an exact label match wins, then a prefix rule (a label ending in `/`) that the label
 * plus `/` starts with. Only rules for one of `audiences` count.
 */
export function findRateLimitRule(
  rules: readonly RateLimitRule[],
  labels: readonly string[],
  audiences: readonly string[],
): RateLimitRule | undefined {
  const prefixRules: RateLimitRule[] = [];
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    for (const rule of rules) {
      if (rule.label === label && audiences.includes(rule.audience)) return rule;
      if (i === 0 && rule.label.endsWith("/")) prefixRules.push(rule);
    }
    for (const rule of prefixRules) {
      if (`${label}/`.startsWith(rule.label) && audiences.includes(rule.audience)) return rule;
    }
  }
  return undefined;
}

/** Reads and checks `rateLimits.rules` from a settings update: the rules, or field errors by index. */
export function parseRateLimitRules(v: unknown): { rules?: RateLimitRule[]; errors?: ErrorData } {
  if (!Array.isArray(v) || v.length > 500) {
    return { errors: { rules: fieldError("validation_invalid_value", "Invalid value.") } };
  }
  const rules: RateLimitRule[] = [];
  const errors: ErrorData = {};
  const seen: string[] = [];
  v.forEach((r, i) => {
    const ruleErrors: ErrorData = {};
    const rule = isPlainObject(r) ? r : {};
    const label = typeof rule.label === "string" ? rule.label : "";
    const audience = rule.audience === undefined || rule.audience === null ? "" : rule.audience;
    if (!label) ruleErrors.label = fieldError("validation_required", "Cannot be blank.");
    else if (label.length > 500 || !LABEL.test(label))
      ruleErrors.label = fieldError("validation_invalid_format", "Invalid rate limit label format.");
    for (const key of ["duration", "maxRequests"] as const) {
      const n = rule[key];
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 2_147_483_647)
        ruleErrors[key] = fieldError("validation_min_greater_equal_than_required", "Must be no less than 1.");
    }
    if (typeof audience !== "string" || !(RATE_LIMIT_AUDIENCES as readonly string[]).includes(audience))
      ruleErrors.audience = fieldError("validation_in_invalid", "Must be a valid value.");
    if (!ruleErrors.label && !ruleErrors.audience) {
      // PocketBase refuses two rules for one label and audience (and a label that extends another's key).
      const key = `${label}@@${String(audience)}`;
      if (seen.some((k) => k.startsWith(key) || key.startsWith(k))) {
        ruleErrors.label = fieldError(
          "validation_conflicting_rate_limit_rule",
          `Rate limit rule configuration with label ${label} already exists or conflicts with another rule.`,
          { label },
        );
      } else seen.push(key);
    }
    if (Object.keys(ruleErrors).length) errors[String(i)] = ruleErrors;
    else
      rules.push({
        label,
        audience: audience as string,
        duration: rule.duration as number,
        maxRequests: rule.maxRequests as number,
      });
  });
  return Object.keys(errors).length ? { errors: { rules: errors } } : { rules };
}

/** Whether every entry is an IP address or a CIDR subnet (`rateLimits.excludedIPs`). */
export function isIpOrSubnetList(v: unknown): v is string[] {
  return (
    Array.isArray(v) && v.length <= 1000 && v.every((s) => typeof s === "string" && ipBlock([s]) !== null)
  );
}

/** A BlockList of IP addresses and CIDR subnets, or null when one entry is neither. */
export function ipBlock(entries: readonly string[]): BlockList | null {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    const [addr, bits, extra] = entry.split("/");
    const family = isIP(addr ?? "");
    if (!family || extra !== undefined) return null;
    const type = family === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) {
      list.addAddress(addr, type);
      continue;
    }
    const prefix = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || prefix > (family === 6 ? 128 : 32)) return null;
    list.addSubnet(addr, prefix, type);
  }
  return list;
}

/** Whether an address is in a BlockList (either family; IPv4-mapped IPv6 addresses count as IPv4). */
export function ipInBlock(list: BlockList, ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : null;
  const family = isIP(v4 ?? ip);
  if (!family) return false;
  return list.check(v4 ?? ip, family === 6 ? "ipv6" : "ipv4");
}
