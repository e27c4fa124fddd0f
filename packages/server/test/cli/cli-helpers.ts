import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

/** The built CLI entry (the tests run after `npm run build`). */
export const BIN = fileURLToPath(new URL("../../bin/basalt.js", import.meta.url));

/** Runs the CLI to completion. */
export function runCli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A running `basalt serve` child process with its collected output. */
export interface Served {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `basalt serve` and waits until it prints that it is serving (or exits). */
export async function serve(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Served> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--http", `127.0.0.1:${port}`, "--log-level", "warn", ...args],
    {
      cwd,
      env: { ...process.env, ...env },
    },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!out.includes("Basalt serving") && child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!out.includes("Basalt serving")) {
    child.kill("SIGKILL");
    throw new Error(`serve did not start: ${out}`);
  }
  return { child, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}
