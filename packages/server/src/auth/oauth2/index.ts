export { type IdTokenCheck, verifyIdToken } from "./id-token.js";
export {
  type AuthorizeStart,
  buildAuthorizeUrl,
  exchangeCode,
  fetchOAuth2User,
  type ResolvedProvider,
  resolveProvider,
} from "./oauth2-client.js";
export type { OAuth2Token, OAuth2User } from "./oauth2-user.js";
export { PROVIDER_PRESETS, type ProviderPreset } from "./provider-presets.js";
