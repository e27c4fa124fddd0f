export { defaultSettings, type RateLimitRule, type Settings, SettingsService } from "./settings-service.js";
