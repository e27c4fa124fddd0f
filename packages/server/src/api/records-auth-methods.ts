import type { FastifyInstance } from "fastify";
import { buildAuthorizeUrl, resolveProvider } from "../auth/index.js";
import type { App } from "../core/app.js";
import { parseFields, pickFields } from "../core/records/index.js";
import { authCollectionOr404 } from "./records-auth-helpers.js";

/**
 * `GET /api/collections/{c}/auth-methods`: which sign-in methods the collection allows, in PocketBase's shape
 * (legacy `authProviders`/`usernamePassword`/`emailPassword` included). Each OAuth2 provider comes with a
 * fresh `state` and PKCE pair and an `authURL` ending in `redirect_uri=` for the client to complete.
 */
export function registerAuthMethods(server: FastifyInstance, app: App): void {
  server.get<{ Params: { collection: string }; Querystring: { fields?: string } }>(
    "/api/collections/:collection/auth-methods",
    async (request) => {
      const c = authCollectionOr404(app, request.params.collection);
      const password = c.passwordAuth.enabled
        ? { identityFields: [...c.passwordAuth.identityFields], enabled: true }
        : { identityFields: [] as string[], enabled: false };
      const providers = c.oauth2.enabled
        ? c.oauth2.providers.flatMap((config) => {
            const provider = resolveProvider(config);
            if (!provider) return [];
            const start = buildAuthorizeUrl(provider);
            return [
              {
                name: provider.name,
                displayName: provider.displayName,
                state: start.state,
                authURL: start.authURL,
                authUrl: start.authURL,
                codeVerifier: start.codeVerifier,
                codeChallenge: start.codeChallenge,
                codeChallengeMethod: start.codeChallengeMethod,
              },
            ];
          })
        : [];
      const out = {
        password,
        oauth2: { providers, enabled: c.oauth2.enabled },
        mfa: { enabled: c.mfa.enabled, duration: c.mfa.enabled ? c.mfa.duration : 0 },
        otp: { enabled: c.otp.enabled, duration: c.otp.enabled ? c.otp.duration : 0 },
        authProviders: c.oauth2.enabled ? providers : [],
        usernamePassword: password.enabled && password.identityFields.includes("username"),
        emailPassword: password.enabled && password.identityFields.includes("email"),
      };
      const fields = typeof request.query.fields === "string" ? request.query.fields : "";
      return fields ? pickFields(out, parseFields(fields)) : out;
    },
  );
}
