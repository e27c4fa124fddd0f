/** The provider's account as PocketBase reports it in an OAuth2 sign-in's `meta`. */
export interface OAuth2User {
  id: string;
  name: string;
  username: string;
  /** Only an address the provider says is verified; "" otherwise. */
  email: string;
  avatarURL: string;
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (PocketBase datetime), or "". */
  expiry: string;
  rawUser: Record<string, unknown>;
}

/** The token endpoint's answer (the parts Basalt reads). */
export interface OAuth2Token {
  accessToken: string;
  refreshToken: string;
  idToken: string;
  /** Seconds until the access token expires; 0 when not said. */
  expiresIn: number;
}

/** A string claim of a raw user object, or "" (numbers, as GitHub's ids are, become strings). */
export function claim(raw: Record<string, unknown>, key: string): string {
  const v = raw[key];
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return "";
}

/** True for an `email_verified`-style claim: `true` or the string "true" (Apple sends strings). */
export function isTrue(v: unknown): boolean {
  return v === true || v === "true";
}
