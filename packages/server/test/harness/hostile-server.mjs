// The server of the hostile-client suite (issue 10), in a process of its own so the suite can read its
// resident memory from /proc and the attackers' own CPU work does not run on its event loop. Config comes as
// JSON in BASALT_HOSTILE_CONFIG (plus `seedUsers`: that many accounts inserted before listening, and
// `superuser`: {email, password}); it prints `ready <url>` once it serves and closes cleanly on SIGTERM.
import { pino } from "pino";
import { hashPassword, newTokenKey } from "../../dist/auth/index.js";
import { createApp } from "../../dist/main.js";
import { newRecordId, nowDateTime } from "../../dist/util/index.js";

const { seedUsers = 0, superuser, ...config } = JSON.parse(process.env.BASALT_HOSTILE_CONFIG ?? "{}");
const basalt = await createApp(
  { http: "127.0.0.1:0", shutdownTimeoutMs: 3000, ...config },
  pino({ level: "warn" }),
);
const { app } = basalt;
if (superuser) await app.auth.upsertSuperuser(superuser.email, superuser.password);

if (seedUsers > 0) {
  const users = app.collections.get("users");
  const t = app.db.dialect.quoteIdent;
  const hash = await hashPassword("seeded-password-1");
  const now = nowDateTime();
  const defaults = {
    emailVisibility: false,
    verified: true,
    name: "",
    avatar: "",
    created: now,
    updated: now,
  };
  const cols = ["id", "email", "password", "tokenKey", ...Object.keys(defaults)];
  const batch = 500;
  await app.db.transaction(async (tx) => {
    for (let start = 0; start < seedUsers; start += batch) {
      const n = Math.min(batch, seedUsers - start);
      const params = [];
      for (let i = start; i < start + n; i++) {
        params.push(newRecordId(), `seeded${i}@example.com`, hash, newTokenKey(), ...Object.values(defaults));
      }
      const row = `(${cols.map(() => "?").join(", ")})`;
      await tx.run(
        `INSERT INTO ${t(users.name)} (${cols.map(t).join(", ")}) VALUES ${Array(n).fill(row).join(", ")}`,
        params,
      );
    }
  });
  if (app.db.dialect.name === "postgres") await app.db.exec(`ANALYZE ${t(users.name)}`);
}

const url = await basalt.listen();
process.on("SIGTERM", () => {
  basalt.close().then(() => process.exit(0));
});
process.stdout.write(`ready ${url}\n`);
