export {
  AuthService,
  isValidEmail,
  newTokenKey,
  type RequestAuth,
  superuserInputErrors,
} from "./auth-service.js";
export { burnPasswordCheck, hashPassword, verifyPassword } from "./passwords.js";
export { decodeToken, signToken, type TokenClaims, type TokenType, verifyToken } from "./tokens.js";
