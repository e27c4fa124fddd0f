/** PocketBase's rule for a backup name given to `POST /api/backups`. */
export const BACKUP_NAME_RE = /^[a-z0-9_-]+\.zip$/;

/** The most characters of a backup name (PocketBase's limit). */
export const BACKUP_NAME_MAX = 150;

/** The name prefix of the backups the `backups.cron` schedule makes (PocketBase's), which retention prunes. */
export const AUTO_BACKUP_PREFIX = "@auto_pb_backup_";

/** The name prefix of a backup made on request without a name. */
export const MANUAL_BACKUP_PREFIX = "pb_backup_";

// an uploaded file keeps its own name (as in PocketBase), within what a storage key can safely be
const UPLOAD_NAME_RE = /^[\w@+-][\w.@+-]{0,149}$/;

/** PocketBase's snake_case of the app name, cut to 50 characters, for backup names. */
function snakeName(appName: string): string {
  return appName
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase()
    .slice(0, 50);
}

/** A generated backup name: `<prefix><app_name>_<YYYYMMDDHHMMSS>.zip` in UTC, as PocketBase names them. */
export function generatedBackupName(prefix: string, appName: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const app = snakeName(appName);
  return `${prefix}${app ? `${app}_` : ""}${stamp}.zip`;
}

/** Whether an uploaded backup's file name can be its key: a `.zip` name of safe characters, no path. */
export function isUploadName(name: string): boolean {
  return UPLOAD_NAME_RE.test(name) && name.endsWith(".zip") && !name.includes("..");
}

/** Whether a key from a URL can name a stored backup (the same safe characters; generated names pass). */
export function isBackupKey(key: string): boolean {
  return UPLOAD_NAME_RE.test(key) && !key.includes("..");
}
