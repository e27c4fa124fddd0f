import { createHash } from "node:crypto";
import type { AuthOptions } from "../../core/collections/index.js";
import { formatDateTime, randomString } from "../../util/index.js";
import { type IdTokenCheck, verifyIdToken } from "./id-token.js";
import { claim, type OAuth2Token, type OAuth2User } from "./oauth2-user.js";
import { PROVIDER_PRESETS, type ProviderPreset } from "./provider-presets.js";

/** A collection's provider config merged over the built-in preset: everything a sign-in needs. */
export interface ResolvedProvider {
  readonly name: string;
  readonly displayName: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authURL: string;
  readonly tokenURL: string;
  readonly userInfoURL: string;
  readonly pkce: boolean;
  readonly preset: ProviderPreset;
  /** Set when the id_token must be validated (Apple always; OIDC when `extra.jwksURL` is configured). */
  readonly idToken: IdTokenCheck | null;
  /** The user comes from the validated id_token claims (Apple; OIDC without a user-info URL). */
  readonly userFromIdToken: boolean;
}

/** What the authorize step hands the client: the URL to open and the state and PKCE pair to keep. */
export interface AuthorizeStart {
  readonly state: string;
  readonly authURL: string;
  readonly codeVerifier: string;
  readonly codeChallenge: string;
  readonly codeChallengeMethod: string;
}

type OAuth2Provider = AuthOptions["oauth2"]["providers"][number];

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const TIMEOUT_MS = 15_000;

function httpUrl(u: string): string {
  try {
    const url = new URL(u);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
  } catch {
    return "";
  }
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string" && s !== "") : [];
}

/**
 * Merges a collection's provider config over its preset; null for an unknown name or missing endpoints. A
 * generic OIDC provider (`oidc`, `oidc2`, `oidc3`) without a user-info URL reads the user from the id_token,
 * and then needs `extra.jwksURL` to check its signature (PocketBase would accept it unsigned).
 */
export function resolveProvider(config: OAuth2Provider): ResolvedProvider | null {
  const preset = PROVIDER_PRESETS[config.name];
  if (!preset || !config.clientId) return null;
  const authURL = httpUrl(config.authURL || preset.authURL);
  const tokenURL = httpUrl(config.tokenURL || preset.tokenURL);
  const userInfoURL = httpUrl(config.userInfoURL || preset.userInfoURL);
  const extra = config.extra ?? {};
  const jwksURL = httpUrl(typeof extra.jwksURL === "string" ? extra.jwksURL : (preset.jwksURL ?? ""));
  const userFromIdToken = !!preset.userFromIdToken || (!!preset.idTokenWithoutUserInfo && !userInfoURL);
  if (!authURL || !tokenURL || (!userInfoURL && !userFromIdToken)) return null;
  if (userFromIdToken && !jwksURL) return null;
  const issuers = strings(extra.issuers).length ? strings(extra.issuers) : [...(preset.issuers ?? [])];
  return {
    name: config.name,
    displayName: config.displayName || preset.displayName || config.name,
    clientId: config.clientId,
    clientSecret: config.clientSecret ?? "",
    authURL,
    tokenURL,
    userInfoURL,
    pkce: config.pkce ?? preset.pkce,
    preset,
    idToken: jwksURL ? { jwksURL, issuers, audience: config.clientId } : null,
    userFromIdToken,
  };
}

/**
 * Builds the provider's authorize URL with a new random state and, when the provider uses PKCE, a new
 * S256 code verifier/challenge. The URL ends with `redirect_uri=` for the client to append its own.
 */
export function buildAuthorizeUrl(p: ResolvedProvider): AuthorizeStart {
  const state = randomString(30, ALNUM);
  const codeVerifier = p.pkce ? randomString(43, ALNUM) : "";
  const codeChallenge = p.pkce ? createHash("sha256").update(codeVerifier).digest("base64url") : "";
  const url = new URL(p.authURL);
  url.searchParams.set("client_id", p.clientId);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", p.preset.scopes.join(" "));
  url.searchParams.set("state", state);
  for (const [k, v] of Object.entries(p.preset.authParams ?? {})) url.searchParams.set(k, v);
  if (p.pkce) {
    url.searchParams.set("code_challenge", codeChallenge);
    url.searchParams.set("code_challenge_method", "S256");
  }
  return {
    state,
    authURL: `${url.href}&redirect_uri=`,
    codeVerifier,
    codeChallenge,
    codeChallengeMethod: p.pkce ? "S256" : "",
  };
}

/** Exchanges an authorization code (with its PKCE verifier) for tokens at the provider's token endpoint. */
export async function exchangeCode(
  p: ResolvedProvider,
  code: string,
  codeVerifier: string,
  redirectURL: string,
): Promise<OAuth2Token> {
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectURL,
    client_id: p.clientId,
  });
  if (p.clientSecret) form.set("client_secret", p.clientSecret);
  if (p.pkce && codeVerifier) form.set("code_verifier", codeVerifier);
  const res = await fetch(p.tokenURL, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
    body: form,
    redirect: "error",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = Object.fromEntries(new URLSearchParams(text));
  }
  const accessToken = claim(body, "access_token");
  if (!res.ok || !accessToken)
    throw new Error(`token endpoint answered ${res.status}: ${claim(body, "error")}`);
  return {
    accessToken,
    refreshToken: claim(body, "refresh_token"),
    idToken: claim(body, "id_token"),
    expiresIn: Number(body.expires_in) || 0,
  };
}

async function getJson(url: string, accessToken: string): Promise<unknown> {
  const res = await fetch(url, {
    headers: { accept: "application/json", authorization: `Bearer ${accessToken}` },
    redirect: "error",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`user info request failed with ${res.status}`);
  return res.json();
}

/** GitHub keeps private addresses apart: the primary verified one, when the profile shows none. */
async function githubEmail(p: ResolvedProvider, accessToken: string): Promise<string> {
  const list = await getJson(`${p.userInfoURL.replace(/\/+$/, "")}/emails`, accessToken).catch(() => []);
  if (!Array.isArray(list)) return "";
  const primary = list.find((e) => e?.primary === true && e?.verified === true);
  return typeof primary?.email === "string" ? primary.email : "";
}

/** Reads the signed-in account from the provider (user-info endpoint or validated id_token). */
export async function fetchOAuth2User(p: ResolvedProvider, token: OAuth2Token): Promise<OAuth2User> {
  let idClaims: Record<string, unknown> | null = null;
  if (p.idToken) {
    if (!token.idToken) throw new Error("the provider returned no id_token");
    idClaims = await verifyIdToken(token.idToken, p.idToken);
  }
  let raw: Record<string, unknown>;
  if (p.userFromIdToken) raw = idClaims ?? {};
  else {
    const body = await getJson(p.userInfoURL, token.accessToken);
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new Error("malformed user info");
    raw = body as Record<string, unknown>;
    // A validated id_token and the user-info answer must describe the same subject.
    if (idClaims && claim(raw, "sub") && claim(raw, "sub") !== claim(idClaims, "sub")) {
      throw new Error("id_token and user info subjects differ");
    }
  }
  const user = p.preset.mapUser(raw);
  if (!user.id) throw new Error("the provider returned no user id");
  if (!user.email && p.preset === PROVIDER_PRESETS.github)
    user.email = await githubEmail(p, token.accessToken);
  return {
    ...user,
    accessToken: token.accessToken,
    refreshToken: token.refreshToken,
    expiry: token.expiresIn ? formatDateTime(new Date(Date.now() + token.expiresIn * 1000)) : "",
  };
}
