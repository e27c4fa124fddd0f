export { API_KEY_PREFIX, API_KEYS_TABLE, type ApiKey, ApiKeysService } from "./api-keys-service.js";
export { type AuthRecordChanges, randomPassword, updateAuthRecord } from "./auth-record-writes.js";
export { AuthService, isValidEmail, type RequestAuth, superuserInputErrors } from "./auth-service.js";
export { INSTALLER_TTL_MS, InstallerService } from "./installer.js";
export { type AuthMethod, MfaService } from "./mfa-service.js";
export {
  type AuthorizeStart,
  buildAuthorizeUrl,
  exchangeCode,
  fetchOAuth2User,
  type OAuth2User,
  PROVIDER_PRESETS,
  type ResolvedProvider,
  resolveProvider,
} from "./oauth2/index.js";
export { type IssuedOtp, OtpService } from "./otp-service.js";
export {
  burnPasswordCheck,
  hashPassword,
  isBcryptHash,
  isCheckableHash,
  needsRehash,
  passwordWork,
  verifyPassword,
} from "./passwords.js";
export { IpcRateLimitStore, type IpcRateLimitStoreOptions } from "./rate-limit-ipc-store.js";
export { openRedisRateLimitStore } from "./rate-limit-redis-open.js";
export type { RedisRateLimitStore, RedisRateLimitStoreOptions } from "./rate-limit-redis-store.js";
export { MemoryRateLimitStore, type RateLimitStore, type RateWindow } from "./rate-limit-store.js";
export { FIXED_GUARDS, type FixedGuard, type LimitRule, RateLimiter } from "./rate-limiter.js";
export { superuserIpAllowed, superuserIpRefused } from "./superuser-ips.js";
export { newTokenKey } from "./token-key.js";
export { decodeToken, signToken, type TokenClaims, type TokenType, verifyToken } from "./tokens.js";
