export { type InboundWebhook, type VerifyInboundOptions, verifyInbound } from "./inbound.js";
export {
  type AllowedTargets,
  BlockedTargetError,
  blockedAddressReason,
  safeGetBytes,
  safePost,
  TooLargeError,
} from "./safe-fetch.js";
export {
  newWebhookSecret,
  standardWebhookHeaders,
  type VerifyOptions,
  verifyStandardWebhook,
  verifyStripeSignature,
  WebhookVerificationError,
} from "./signatures.js";
export { WEBHOOK_EVENTS, type WebhookEvent, type WebhookInput } from "./webhook-input.js";
export {
  WEBHOOK_QUEUE,
  type Webhook,
  type WebhookDelivery,
  type WebhooksDeps,
  WebhooksService,
} from "./webhooks-service.js";
