import type { BasaltConfig } from "../core/config.js";

/**
 * The encryption settings of a command: `--encryption-env NAME` names the variable, whose value is the key
 * (read here, from this process's environment, so the key itself is never a flag in the process list).
 */
export function encryptionFrom(opts: {
  encryptionEnv?: string;
}): Pick<BasaltConfig, "encryptionEnv" | "encryptionKey"> {
  const name = (opts.encryptionEnv ?? "").trim();
  return { encryptionEnv: name, encryptionKey: name ? (process.env[name] ?? "") : "" };
}
