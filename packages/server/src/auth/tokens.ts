import { createHmac, timingSafeEqual } from "node:crypto";

/** The token types PocketBase issues; a token of one type is never accepted as another. */
export type TokenType = "auth" | "file" | "verification" | "passwordReset" | "emailChange";

/** The claims Basalt reads from and writes into its JWTs. */
export interface TokenClaims {
  id: string;
  type: TokenType;
  collectionId: string;
  exp: number;
  refreshable?: boolean;
  email?: string;
  newEmail?: string;
  [claim: string]: unknown;
}

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

function sign(data: string, key: string): string {
  return createHmac("sha256", key).update(data).digest("base64url");
}

/** Signs claims as an HS256 JWT (the claims are written in sorted key order, as PocketBase's are). */
export function signToken(claims: TokenClaims, key: string): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(claims).sort()) if (claims[k] !== undefined) sorted[k] = claims[k];
  const payload = Buffer.from(JSON.stringify(sorted)).toString("base64url");
  const data = `${HEADER}.${payload}`;
  return `${data}.${sign(data, key)}`;
}

/**
 * Reads a JWT's claims without checking its signature, to learn which record and key to verify it with.
 * Returns null for anything that is not a well-formed HS256 JWT with the required claims.
 */
export function decodeToken(token: string): TokenClaims | null {
  if (typeof token !== "string" || token.length > 4096) return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    if (header?.alg !== "HS256") return null;
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return null;
    if (typeof claims.id !== "string" || typeof claims.collectionId !== "string") return null;
    if (typeof claims.type !== "string" || typeof claims.exp !== "number") return null;
    return claims as TokenClaims;
  } catch {
    return null;
  }
}

/** True when a JWT's HS256 signature is right for a key (compared in constant time). */
export function signatureMatches(token: string, key: string): boolean {
  const dot = token.lastIndexOf(".");
  const expected = Buffer.from(sign(token.slice(0, dot), key));
  const given = Buffer.from(token.slice(dot + 1));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Checks a JWT's HS256 signature (constant time) and expiry; returns its claims or null. */
export function verifyToken(token: string, key: string, nowSeconds = Date.now() / 1000): TokenClaims | null {
  const claims = decodeToken(token);
  if (!claims || !signatureMatches(token, key)) return null;
  if (claims.exp <= nowSeconds) return null;
  return claims;
}
