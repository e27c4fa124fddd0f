import cliProgress from "cli-progress";
import type { TransferProgress } from "../core/transfer/index.js";

/** Shows a transfer's progress on stderr: a bar on a terminal, a plain line every few seconds otherwise. */
export interface ProgressReporter {
  readonly update: TransferProgress;
  stop(): void;
}

const PLAIN_EVERY_MS = 2000;

/** A progress reporter for `basalt export` / `basalt import`, labelled with the command's name. */
export function progressReporter(label: string): ProgressReporter {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {percentage}% | {value}/{total} records | {collection}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (done, total, collection) => {
        if (!started) {
          bar.start(total, done, { collection });
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done, { collection });
        }
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  // a run shorter than the interval prints nothing: its summary says it all
  let last = Date.now();
  let printed = false;
  let latest: [number, number, string] | null = null;
  const print = ([done, total, collection]: [number, number, string]) => {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    console.error(`${label}: ${done}/${total} records (${pct}%), at ${collection}`);
  };
  return {
    update: (done, total, collection) => {
      latest = [done, total, collection];
      const now = Date.now();
      if (now - last >= PLAIN_EVERY_MS) {
        last = now;
        printed = true;
        print(latest);
      }
    },
    stop: () => {
      if (latest && printed) print(latest);
    },
  };
}
