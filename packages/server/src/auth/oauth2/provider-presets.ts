import { claim, isTrue, type OAuth2User } from "./oauth2-user.js";

/** What a provider's user-info answer maps to, before tokens are added. */
export type MappedUser = Omit<OAuth2User, "accessToken" | "refreshToken" | "expiry">;

/** The built-in knowledge of one provider: endpoints, scopes, PKCE support and how to read its user. */
export interface ProviderPreset {
  readonly displayName: string;
  readonly authURL: string;
  readonly tokenURL: string;
  /** "" when the user comes from the id_token (Apple). */
  readonly userInfoURL: string;
  readonly scopes: readonly string[];
  readonly pkce: boolean;
  /** Extra authorize-URL parameters. */
  readonly authParams?: Readonly<Record<string, string>>;
  /** Read the user from the validated id_token claims instead of a user-info call. */
  readonly userFromIdToken?: boolean;
  /**
   * Generic OpenID Connect: with no user-info URL configured, read the user from the id_token (which then
   * must be validated against `extra.jwksURL`), as PocketBase's `oidc` providers do.
   */
  readonly idTokenWithoutUserInfo?: boolean;
  /** Default id_token checks (Apple). */
  readonly jwksURL?: string;
  readonly issuers?: readonly string[];
  mapUser(raw: Record<string, unknown>): MappedUser;
}

function oidcUser(raw: Record<string, unknown>): MappedUser {
  return {
    id: claim(raw, "sub"),
    name: claim(raw, "name"),
    username: claim(raw, "preferred_username"),
    // An address the provider has not verified proves nothing about who owns it (pre-hijack guard).
    email: isTrue(raw.email_verified) ? claim(raw, "email") : "",
    avatarURL: claim(raw, "picture"),
    rawUser: raw,
  };
}

const oidc: ProviderPreset = {
  displayName: "OIDC",
  authURL: "",
  tokenURL: "",
  userInfoURL: "",
  scopes: ["openid", "email", "profile"],
  pkce: true,
  idTokenWithoutUserInfo: true,
  mapUser: oidcUser,
};

/** The providers Basalt knows by name; any of their endpoints can be overridden in the collection's config. */
export const PROVIDER_PRESETS: Readonly<Record<string, ProviderPreset>> = {
  oidc,
  oidc2: oidc,
  oidc3: oidc,
  google: {
    displayName: "Google",
    authURL: "https://accounts.google.com/o/oauth2/v2/auth",
    tokenURL: "https://oauth2.googleapis.com/token",
    userInfoURL: "https://www.googleapis.com/oauth2/v3/userinfo",
    scopes: [
      "https://www.googleapis.com/auth/userinfo.profile",
      "https://www.googleapis.com/auth/userinfo.email",
    ],
    pkce: true,
    mapUser: oidcUser,
  },
  github: {
    displayName: "GitHub",
    authURL: "https://github.com/login/oauth/authorize",
    tokenURL: "https://github.com/login/oauth/access_token",
    userInfoURL: "https://api.github.com/user",
    scopes: ["read:user", "user:email"],
    pkce: true,
    mapUser: (raw) => ({
      id: claim(raw, "id"),
      name: claim(raw, "name"),
      username: claim(raw, "login"),
      email: claim(raw, "email"),
      avatarURL: claim(raw, "avatar_url"),
      rawUser: raw,
    }),
  },
  gitlab: {
    displayName: "GitLab",
    authURL: "https://gitlab.com/oauth/authorize",
    tokenURL: "https://gitlab.com/oauth/token",
    userInfoURL: "https://gitlab.com/api/v4/user",
    scopes: ["read_user"],
    pkce: true,
    mapUser: (raw) => ({
      id: claim(raw, "id"),
      name: claim(raw, "name"),
      username: claim(raw, "username"),
      email: claim(raw, "email"),
      avatarURL: claim(raw, "avatar_url"),
      rawUser: raw,
    }),
  },
  microsoft: {
    displayName: "Microsoft",
    authURL: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    tokenURL: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    userInfoURL: "https://graph.microsoft.com/v1.0/me",
    scopes: ["User.Read"],
    pkce: true,
    mapUser: (raw) => ({
      id: claim(raw, "id"),
      name: claim(raw, "displayName"),
      username: "",
      email: claim(raw, "mail"),
      avatarURL: "",
      rawUser: raw,
    }),
  },
  discord: {
    displayName: "Discord",
    authURL: "https://discord.com/api/oauth2/authorize",
    tokenURL: "https://discord.com/api/oauth2/token",
    userInfoURL: "https://discord.com/api/users/@me",
    scopes: ["identify", "email"],
    pkce: true,
    mapUser: (raw) => {
      const id = claim(raw, "id");
      const avatar = claim(raw, "avatar");
      const discriminator = claim(raw, "discriminator");
      const username = claim(raw, "username");
      return {
        id,
        name: claim(raw, "global_name") || username,
        username: discriminator && discriminator !== "0" ? `${username}_${discriminator}` : username,
        email: isTrue(raw.verified) ? claim(raw, "email") : "",
        avatarURL: avatar
          ? `https://cdn.discordapp.com/avatars/${encodeURIComponent(id)}/${encodeURIComponent(avatar)}.png`
          : "",
        rawUser: raw,
      };
    },
  },
  apple: {
    displayName: "Apple",
    authURL: "https://appleid.apple.com/auth/authorize",
    tokenURL: "https://appleid.apple.com/auth/token",
    userInfoURL: "",
    scopes: ["name", "email"],
    pkce: true,
    authParams: { response_mode: "form_post" },
    userFromIdToken: true,
    jwksURL: "https://appleid.apple.com/auth/keys",
    issuers: ["https://appleid.apple.com"],
    mapUser: (raw) => ({
      id: claim(raw, "sub"),
      name: "",
      username: "",
      email: isTrue(raw.email_verified) ? claim(raw, "email") : "",
      avatarURL: "",
      rawUser: raw,
    }),
  },
};
