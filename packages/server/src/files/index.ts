export { extractExtension, normalizeFileName, snakeCase, THUMB_SIZE_RE } from "./file-names.js";
export {
  collectionFilesPrefix,
  FilesService,
  type PlannedUpload,
  recordFileKey,
  recordFilesPrefix,
  thumbsPrefix,
} from "./files-service.js";
export { LocalStorage } from "./local-storage.js";
export { type S3Config, S3Storage } from "./s3-storage.js";
export { etagOf, FILE_CSP, fileHeaders, notModified, requestedRange } from "./serve-headers.js";
export { baseMime, SNIFF_BYTES, type Sniffed, sniffMime } from "./sniff.js";
export {
  type ByteRange,
  checkKey,
  type PutOptions,
  type Storage,
  type StoredFile,
  type StoredFileInfo,
} from "./storage.js";
export { DEFAULT_THUMBS, MAX_THUMB_PIXELS, Thumbnailer, thumbSpec } from "./thumbs.js";
export { UploadedFile } from "./uploaded-file.js";
