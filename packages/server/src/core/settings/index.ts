export {
  AUTH_AUDIENCES,
  findRateLimitRule,
  GUEST_AUDIENCES,
  ipBlock,
  ipInBlock,
  RATE_LIMIT_AUDIENCES,
  type RateLimitRule,
} from "./rate-limit-rules.js";
export {
  defaultSettings,
  mapSettingsSecrets,
  type S3Settings,
  SETTINGS_SECRET_PATHS,
  type Settings,
  SettingsService,
} from "./settings-service.js";
