import {
  type FilesService,
  type PlannedUpload,
  recordFileKey,
  recordFilesPrefix,
  thumbsPrefix,
  UploadedFile,
} from "../../files/index.js";
import type { Collection } from "../collections/index.js";
import { valueList } from "./field-values/index.js";
import type { RecordDraft } from "./record-draft.js";

/**
 * The storage side of a record write: files to upload before the row is written, and files (with their
 * thumbnails) or whole record folders to delete once the transaction has committed, never before.
 */
export interface FilesPlan {
  readonly uploads: PlannedUpload[];
  readonly deleteKeys: string[];
  readonly deletePrefixes: string[];
}

/** What a draft's file fields upload and drop; null when it touches no file. */
export function planDraftFiles(draft: RecordDraft): FilesPlan | null {
  const c = draft.collection;
  const id = String(draft.values.id ?? draft.original.id);
  const plan: FilesPlan = { uploads: [], deleteKeys: [], deletePrefixes: [] };
  for (const field of c.fields) {
    if (field.type !== "file") continue;
    const value = draft.values[field.name];
    const items = Array.isArray(value) ? value : value === "" || value == null ? [] : [value];
    const kept = new Set<string>();
    for (const item of items) {
      if (item instanceof UploadedFile)
        plan.uploads.push({ key: recordFileKey(c.id, id, item.name), file: item });
      else kept.add(String(item));
    }
    if (draft.isNew) continue;
    for (const name of valueList(draft.original[field.name])) {
      if (kept.has(name)) continue;
      plan.deleteKeys.push(recordFileKey(c.id, id, name));
      plan.deletePrefixes.push(thumbsPrefix(c.id, id, name));
    }
  }
  return plan.uploads.length || plan.deleteKeys.length ? plan : null;
}

/** The folders of deleted records (of collections with file fields), to delete after the commit. */
export function planDeletedFiles(
  deleted: readonly { collection: Collection; id: string }[],
): FilesPlan | null {
  const prefixes = deleted
    .filter((d) => d.collection.fields.some((f) => f.type === "file"))
    .map((d) => recordFilesPrefix(d.collection.id, d.id));
  return prefixes.length ? { uploads: [], deleteKeys: [], deletePrefixes: prefixes } : null;
}

/**
 * Runs a row write with its files: uploads first; if the write fails the uploads are deleted and the error
 * rethrown. Inside a transaction (`tx` given) the post-commit deletes and the rollback clean-up are left to
 * the transaction's owner; otherwise the replaced files are deleted right after the write.
 */
export function writeWithFiles<T>(
  files: FilesService | undefined,
  plan: FilesPlan | null,
  tx: FilesPlan[] | null,
  write: () => Promise<T>,
): Promise<T> {
  if (!files || !plan) return write();
  return writeWithUploads(files, plan, tx, write);
}

async function writeWithUploads<T>(
  files: FilesService,
  plan: FilesPlan,
  tx: FilesPlan[] | null,
  write: () => Promise<T>,
): Promise<T> {
  await files.upload(plan.uploads);
  let result: T;
  try {
    result = await write();
  } catch (err) {
    await files.discard(plan.uploads.map((u) => u.key));
    throw err;
  }
  if (tx) tx.push(plan);
  else await files.discard(plan.deleteKeys, plan.deletePrefixes);
  return result;
}

/** After a transaction: deletes what committed writes dropped, or (rolled back) what its writes uploaded. */
export async function settleFilePlans(
  files: FilesService | undefined,
  plans: readonly FilesPlan[],
  committed: boolean,
): Promise<void> {
  if (!files || !plans.length) return;
  if (committed) {
    await files.discard(
      plans.flatMap((p) => p.deleteKeys),
      plans.flatMap((p) => p.deletePrefixes),
    );
  } else await files.discard(plans.flatMap((p) => p.uploads.map((u) => u.key)));
}
