import { createPublicKey, type JsonWebKey, verify } from "node:crypto";

/** What an id_token must satisfy: signed by a key of the JWKS, from one of the issuers, for the client. */
export interface IdTokenCheck {
  readonly jwksURL: string;
  readonly issuers: readonly string[];
  readonly audience: string;
}

const ALGS: Record<string, { hash: string; ec: boolean }> = {
  RS256: { hash: "sha256", ec: false },
  RS384: { hash: "sha384", ec: false },
  RS512: { hash: "sha512", ec: false },
  ES256: { hash: "sha256", ec: true },
  ES384: { hash: "sha384", ec: true },
};

const JWKS_TTL_MS = 10 * 60_000;
/** Clock difference tolerated between the provider and this server for `iat`/`nbf`. */
const CLOCK_SKEW_S = 60;
const jwksCache = new Map<string, { at: number; keys: (JsonWebKey & { kid?: string })[] }>();

async function loadJwks(url: string, refresh: boolean): Promise<(JsonWebKey & { kid?: string })[]> {
  const cached = jwksCache.get(url);
  if (cached && !refresh && Date.now() - cached.at < JWKS_TTL_MS) return cached.keys;
  const res = await fetch(url, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(15_000),
  });
  if (!res.ok) throw new Error(`JWKS request failed with ${res.status}`);
  const body = (await res.json()) as { keys?: unknown };
  const keys = Array.isArray(body.keys) ? (body.keys as (JsonWebKey & { kid?: string })[]) : [];
  jwksCache.set(url, { at: Date.now(), keys });
  return keys;
}

function part(s: string): Record<string, unknown> {
  const v = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as unknown;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("malformed JWT part");
  return v as Record<string, unknown>;
}

/**
 * Verifies an OpenID Connect id_token (signature against the provider's JWKS, `iss`, `aud`, `exp`) and returns
 * its claims; throws on any failure. Only asymmetric algorithms are accepted (never `none` or HMAC).
 */
export async function verifyIdToken(token: string, check: IdTokenCheck): Promise<Record<string, unknown>> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("malformed id_token");
  const header = part(parts[0]);
  const claims = part(parts[1]);
  const alg = ALGS[String(header.alg)];
  if (!alg) throw new Error(`unsupported id_token alg ${String(header.alg)}`);
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], "base64url");
  const kid = typeof header.kid === "string" ? header.kid : undefined;
  let ok = false;
  for (const refresh of [false, true]) {
    const keys = (await loadJwks(check.jwksURL, refresh)).filter((k) => !kid || k.kid === kid);
    ok = keys.some((jwk) => {
      try {
        const key = createPublicKey({ key: jwk, format: "jwk" });
        return verify(alg.hash, data, alg.ec ? { key, dsaEncoding: "ieee-p1363" } : key, signature);
      } catch {
        return false;
      }
    });
    if (ok) break;
  }
  if (!ok) throw new Error("invalid id_token signature");
  if (check.issuers.length && !check.issuers.includes(String(claims.iss)))
    throw new Error("id_token issuer mismatch");
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(check.audience)) throw new Error("id_token audience mismatch");
  const now = Date.now() / 1000;
  if (typeof claims.exp !== "number" || claims.exp <= now) throw new Error("id_token expired");
  // issued (or valid from) in the future, beyond a little clock skew
  for (const k of ["iat", "nbf"]) {
    if (
      claims[k] !== undefined &&
      (typeof claims[k] !== "number" || (claims[k] as number) > now + CLOCK_SKEW_S)
    )
      throw new Error(`id_token ${k} is in the future`);
  }
  return claims;
}
