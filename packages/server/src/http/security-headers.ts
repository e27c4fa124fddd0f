/**
 * The security headers every answer carries: helmet 8's defaults with no Content-Security-Policy (the
 * dashboard and user pages bring their own), no HSTS (TLS ends at the proxy, which sets it), a cross-origin
 * resource policy (the API and files are fetched from other origins) and no embedder policy. Written out
 * once instead of building helmet's middleware chain on every request (issue 19: it cost a few percent of a
 * record view's CPU).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "cross-origin",
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "SAMEORIGIN",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0",
});
