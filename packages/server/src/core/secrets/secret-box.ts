import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { BasaltError } from "../../errors/index.js";

/** The envelope prefix of a value sealed by SecretBox (version 1: AES-256-GCM, 12-byte IV, 16-byte tag). */
export const SEALED_PREFIX = "bsec1:";

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Additional authenticated data: a fixed label, so envelopes of other programs using the same key never open. */
const AAD = Buffer.from("basalt secret at rest v1");

/** True when a stored value is a sealed envelope (whatever its key). */
export function isSealed(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(SEALED_PREFIX);
}

/** How SecretBox was told about its key: the environment variable's name and its value ("" when unset). */
export interface EncryptionKeySource {
  /** The environment variable named by `--encryption-env` ("" when the flag is not given). */
  envName: string;
  /** Its value: exactly 32 characters (as PocketBase's `--encryptionEnv`), or "" for no encryption. */
  key: string;
}

/**
 * Seals and opens the secrets Basalt stores (SMTP and S3 passwords, OAuth2 client secrets, webhook secrets)
 * with AES-256-GCM under a key from the environment (issue 18). Each value gets a random IV; the stored form
 * is `bsec1:` + base64url(IV | ciphertext | tag). Without a key, values are stored as given, and a sealed
 * value read back is refused with a coded error naming the variable to set, never returned as garbage or "".
 */
export class SecretBox {
  private readonly key: Buffer | null;
  /** The variable to name in errors: the flag's, else the one recorded when the data was first sealed. */
  envHint: string;

  constructor(source: EncryptionKeySource) {
    this.envHint = source.envName;
    if (source.envName && !source.key) {
      throw new BasaltError(
        "BASALT_ERR_ENCRYPTION_KEY_MISSING",
        `--encryption-env names ${source.envName}, which is not set (or empty).`,
      );
    }
    if (!source.key) {
      this.key = null;
      return;
    }
    const key = Buffer.from(source.key, "utf8");
    if (key.length !== 32) {
      throw new BasaltError(
        "BASALT_ERR_ENCRYPTION_KEY_INVALID",
        `${source.envName || "The key"} holds ${key.length} bytes; it must hold exactly 32 characters (e.g. \`openssl rand -hex 16\`).`,
      );
    }
    this.key = key;
  }

  /** Whether values are sealed (a key was given). */
  get enabled(): boolean {
    return this.key !== null;
  }

  /** The stored form of a secret: sealed with the key, else as given; "" and already sealed values unchanged. */
  seal(plain: string): string {
    if (!this.key || plain === "" || isSealed(plain)) return plain;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(AAD);
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
  }

  /**
   * The secret a stored value holds: a sealed one opened with the key, a plaintext one (stored before the key
   * was set) as is. Throws BASALT_ERR_ENCRYPTION_KEY_MISSING without a key, _WRONG when the key does not open it.
   */
  open(stored: string): string {
    if (!isSealed(stored)) return stored;
    if (!this.key) {
      const name = this.envHint || "BASALT_ENCRYPTION_KEY";
      throw new BasaltError(
        "BASALT_ERR_ENCRYPTION_KEY_MISSING",
        `Set ${name} to the key the data was encrypted with and start with --encryption-env ${name}.`,
      );
    }
    const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES) throw this.wrongKey();
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(AAD);
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
    } catch {
      throw this.wrongKey();
    }
  }

  private wrongKey(): BasaltError {
    return new BasaltError(
      "BASALT_ERR_ENCRYPTION_KEY_WRONG",
      `${this.envHint || "The encryption key"} does not decrypt the stored secrets; start with the key they were encrypted with.`,
    );
  }
}
