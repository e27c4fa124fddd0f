export { dependencyOrder } from "./collection-order.js";
export {
  DUMP_FORMAT,
  DUMP_VERSION,
  type DumpHeader,
  type DumpLine,
  parseDumpHeader,
  parseDumpLine,
} from "./dump-format.js";
export { exportDump, type TransferProgress, type TransferSummary } from "./export-dump.js";
export { importDump } from "./import-dump.js";
export { refuseNonEmpty } from "./import-tables.js";
