export { fileFields, type PlannedCollection, planCollections } from "./pb-collections.js";
export { type FileRefs, pbValue, pocketbaseDump, sourceCounts } from "./pb-dump.js";
export { copyPocketBaseFiles, type PbFilesSummary } from "./pb-files.js";
export { type PbSettings, readPbSettings } from "./pb-settings.js";
export { checkPocketBaseFolder, openPocketBase, type PbLayout, type PbSource } from "./pb-source.js";
