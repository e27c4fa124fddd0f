export { type AuthAnswer, type AuthCaller, type AuthFinish, authAnswer, codeCaller } from "./answer.js";
export {
  type AuthFlowsApi,
  type AuthResult,
  authFlowsApi,
  type MfaRequired,
  type SignInOptions,
} from "./code-api.js";
export { confirmEmailChange, requestEmailChange } from "./email-change.js";
export { findEmailAccount } from "./email-request.js";
export { authCollectionOr404, INVALID_DATA, requiredEmail, requiredText, throwIfInvalid } from "./form.js";
export { findLinkedRecord, linkExternalAuth, unlinkExternalAuths, verifyAccount } from "./links.js";
export { signInWithOAuth2 } from "./oauth2.js";
export { requestOtp, signInWithOtp } from "./otp.js";
export {
  confirmPasswordReset,
  type PasswordResetInput,
  type PasswordSignInInput,
  requestPasswordReset,
  signInWithPassword,
} from "./password.js";
export { type RecordEmailKind, sendRecordEmail } from "./record-email.js";
export { impersonate, refreshAuth } from "./session.js";
export { confirmVerification, requestVerification } from "./verification.js";
