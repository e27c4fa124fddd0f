import { verifyPassword } from "../../auth/passwords.js";
import { type ErrorData, fieldError } from "../../errors/index.js";
import { REQUIRED } from "./field-values/value-kit.js";
import type { RecordDraft } from "./record-draft.js";

const MISMATCH = () => fieldError("validation_values_mismatch", "Values don't match.");

/**
 * PocketBase's auth-record form checks, run before field validation: without manage access (superuser or a
 * matching manageRule) `email` cannot change on update and `verified` cannot change at all; a new password
 * needs `passwordConfirm`, and on update a non-manager must also give the right `oldPassword`.
 */
export async function authFormErrors(
  draft: RecordDraft,
  data: Record<string, unknown>,
  manage: boolean,
): Promise<ErrorData> {
  const errors: ErrorData = {};
  const text = (k: string) => (typeof data[k] === "string" ? (data[k] as string) : "");
  const password = draft.plainPasswords.password ?? "";
  const confirm = text("passwordConfirm");
  const old = text("oldPassword");
  if (!draft.isNew && !manage && draft.values.email !== draft.original.email) errors.email = MISMATCH();
  if (!manage && draft.values.verified !== draft.original.verified) errors.verified = MISMATCH();
  if ((draft.isNew || confirm !== "" || old !== "") && password === "") errors.password = REQUIRED;
  if ((draft.isNew || password !== "" || old !== "") && confirm === "") errors.passwordConfirm = REQUIRED;
  else if (confirm !== password) errors.passwordConfirm = MISMATCH();
  if (!draft.isNew && !manage && (password !== "" || confirm !== "")) {
    if (old === "") errors.oldPassword = REQUIRED;
    else if (!(await verifyPassword(old, String(draft.original.password ?? "")))) {
      errors.oldPassword = fieldError("validation_invalid_old_password", "Missing or invalid old password.");
    }
  }
  return errors;
}
