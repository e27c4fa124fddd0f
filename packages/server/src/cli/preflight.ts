import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { superuserInputErrors } from "../auth/index.js";
import { parseListenAddress } from "../core/config.js";
import { BasaltError } from "../errors/index.js";

/** Checks `--http` before anything is created: `host:port`, with a port from 0 to 65535. */
export function checkListenAddress(http: string): { host: string; port: number } {
  const m = /^(?:\[[^\]]+\]|[^:]*):(\d+)$/.exec(http.trim());
  if (m && Number(m[1]) > 65535) throw new BasaltError("BASALT_ERR_SERVE_BAD_PORT", `Got "${http}".`);
  const addr = parseListenAddress(http);
  if (!addr) throw new BasaltError("BASALT_ERR_SERVE_BAD_ADDRESS", `Got "${http}".`);
  return addr;
}

/** Fails with a suggestion when the address is taken, before the data folder is created or opened. */
export async function checkPortFree(http: string, addr: { host: string; port: number }): Promise<void> {
  if (addr.port === 0) return;
  await new Promise<void>((resolveFree, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") {
        const next = `${addr.host.includes(":") ? `[${addr.host}]` : addr.host}:${addr.port + 1 > 65535 ? 8091 : addr.port + 1}`;
        reject(
          new BasaltError(
            "BASALT_ERR_SERVE_PORT_IN_USE",
            `(${http}; nothing was created). Try --http ${next} or BASALT_HTTP=${next}.`,
            err,
          ),
        );
      } else resolveFree(); // other problems surface, with their own message, when the server listens
    });
    probe.listen({ host: addr.host, port: addr.port, exclusive: true }, () =>
      probe.close(() => resolveFree()),
    );
  });
}

/** The start-up superuser from BASALT_SUPERUSER_EMAIL/PASSWORD, checked before anything is created. */
export function startupSuperuser(env: NodeJS.ProcessEnv): { email: string; password: string } | null {
  const email = env.BASALT_SUPERUSER_EMAIL ?? "";
  const password = env.BASALT_SUPERUSER_PASSWORD ?? "";
  if (!email && !password) return null;
  if (!password) throw new BasaltError("BASALT_ERR_CLI_SUPERUSER_PASSWORD_MISSING", `(for ${email})`);
  if (!email) throw new BasaltError("BASALT_ERR_CLI_SUPERUSER_EMAIL_MISSING");
  checkSuperuserInput(email, password);
  return { email, password };
}

/** Refuses a bad superuser e-mail or a short password with its own code. */
export function checkSuperuserInput(email: string, password: string): void {
  const errors = superuserInputErrors(email, password);
  if (errors?.email) throw new BasaltError("BASALT_ERR_CLI_INVALID_EMAIL", `Got "${email}".`);
  if (errors?.password) throw new BasaltError("BASALT_ERR_CLI_SHORT_PASSWORD");
}

/** Whether a SQLite data folder already holds a Basalt database (`data.db`). */
export function holdsData(dir: string): boolean {
  const abs = resolve(dir);
  return existsSync(join(abs, "data.db"));
}
