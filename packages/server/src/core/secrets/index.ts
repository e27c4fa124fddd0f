export { type EncryptionKeySource, isSealed, SEALED_PREFIX, SecretBox } from "./secret-box.js";
export {
  checkEncryptionKey,
  ENCRYPTION_PARAM_ID,
  type SealedCounts,
  sealStoredSecrets,
} from "./secrets-at-rest.js";
