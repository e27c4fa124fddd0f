export { AUTO_BACKUP_PREFIX, MANUAL_BACKUP_PREFIX } from "./backup-names.js";
export {
  discardStaged,
  finishRestore,
  importStagedDump,
  readStaged,
  swapInSqlite,
  swapInStorage,
  undoSqlite,
} from "./backup-restore.js";
export { AUTO_BACKUP_CRON_ID, type BackupInfo, BackupsService } from "./backups-service.js";
