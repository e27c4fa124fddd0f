import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashSync } from "@node-rs/bcrypt";
import BetterSqlite3 from "better-sqlite3";
import PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, isCi, postgresProblem } from "../harness/dialects.js";
import { runCli, type Served, serve } from "./cli-helpers.js";

// Issue 18, item 3: `basalt import-pocketbase` on a data folder in PocketBase 0.23+'s table layout. No 0.23
// binary is at hand, so the folder is built here: the tables, columns and JSON as PocketBase 0.23 creates
// them (its `_collections` with `fields` and `options`, system collections as collections, `password`).
const ROOT = { email: "root@example.com", password: "root-password-1" };
const CAROL = { email: "carol@example.com", password: "carol-password-1" };
const REPORT = Buffer.from("quarterly report\n");

const wantsPostgres = (process.env.BASALT_TEST_DIALECTS ?? "sqlite,postgres").includes("postgres");
const pgProblem = wantsPostgres ? await postgresProblem() : "not selected by BASALT_TEST_DIALECTS";
if (pgProblem && wantsPostgres) {
  if (isCi()) throw new Error(`import-pocketbase tests: PostgreSQL unreachable under CI (${pgProblem})`);
  console.warn(`import-pocketbase tests on PostgreSQL SKIPPED: ${pgProblem}`);
}
const targets = pgProblem ? (["sqlite"] as const) : (["sqlite", "postgres"] as const);

const USERS_ID = "_pb_users_auth_";
const NOTES_ID = "pbc_1234567890";
const SUPERUSERS_ID = "pbc_3142635823";
const CAROL_ID = "carolcarol12345";
const NOTE_ID = "note00000000001";
const DATE = "2025-01-02 03:04:05.678Z";

// PocketBase 0.23's field JSON (every option key of each type) and column types
const base = (type: string, name: string, id: string, extra: Record<string, unknown> = {}) => ({
  hidden: false,
  id,
  name,
  presentable: false,
  required: false,
  system: false,
  type,
  ...extra,
});
const idField = base("text", "id", "text3208210256", {
  autogeneratePattern: "[a-z0-9]{15}",
  max: 15,
  min: 15,
  pattern: "^[a-z0-9]+$",
  primaryKey: true,
  required: true,
  system: true,
});
const text = (name: string, id: string, extra: Record<string, unknown> = {}) =>
  base("text", name, id, {
    autogeneratePattern: "",
    max: 0,
    min: 0,
    pattern: "",
    primaryKey: false,
    ...extra,
  });
const autodates = (system: boolean) => [
  base("autodate", "created", "autodate2990389176", { onCreate: true, onUpdate: false, system }),
  base("autodate", "updated", "autodate3332085495", { onCreate: true, onUpdate: true, system }),
];
const authFields = (cost: number) => [
  base("password", "password", "password901924565", {
    cost,
    hidden: true,
    max: 0,
    min: 8,
    pattern: "",
    required: true,
    system: true,
  }),
  text("tokenKey", "text2504183744", {
    autogeneratePattern: "[a-zA-Z0-9]{50}",
    hidden: true,
    max: 60,
    min: 30,
    required: true,
    system: true,
  }),
  base("email", "email", "email3885137012", {
    exceptDomains: null,
    onlyDomains: null,
    required: true,
    system: true,
  }),
  base("bool", "emailVisibility", "bool1547992806", { system: true }),
  base("bool", "verified", "bool256245529", { system: true }),
];
const template = { subject: "s", body: "b" };
const token = (duration: number) => ({ duration, secret: "s".repeat(50) });
const authOptions = (authRule = "") => ({
  authRule,
  manageRule: null,
  authAlert: { enabled: true, emailTemplate: template },
  oauth2: {
    mappedFields: { id: "", name: "name", username: "", avatarURL: "avatar" },
    enabled: false,
    providers: [],
  },
  passwordAuth: { enabled: true, identityFields: ["email"] },
  mfa: { enabled: false, duration: 1800, rule: "" },
  otp: { enabled: false, duration: 180, length: 8, emailTemplate: template },
  authToken: token(604800),
  passwordResetToken: token(1800),
  emailChangeToken: token(1800),
  verificationToken: token(259200),
  fileToken: token(180),
  verificationTemplate: template,
  resetPasswordTemplate: template,
  confirmEmailChangeTemplate: template,
});
const OWNER =
  "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

const authTable = (name: string, extra = "") => `CREATE TABLE \`${name}\` (
  \`id\` TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
  \`password\` TEXT DEFAULT '' NOT NULL, \`tokenKey\` TEXT DEFAULT '' NOT NULL, \`email\` TEXT DEFAULT '' NOT NULL,
  \`emailVisibility\` BOOLEAN DEFAULT FALSE NOT NULL, \`verified\` BOOLEAN DEFAULT FALSE NOT NULL,${extra}
  \`created\` TEXT DEFAULT '' NOT NULL, \`updated\` TEXT DEFAULT '' NOT NULL)`;
const refTable = (name: string, columns: string[]) => `CREATE TABLE \`${name}\` (
  \`id\` TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
  \`collectionRef\` TEXT DEFAULT '' NOT NULL, \`recordRef\` TEXT DEFAULT '' NOT NULL,
  ${columns.map((c) => `\`${c}\` TEXT DEFAULT '' NOT NULL,`).join(" ")}
  \`created\` TEXT DEFAULT '' NOT NULL, \`updated\` TEXT DEFAULT '' NOT NULL)`;

/** Writes `pb_data` as PocketBase 0.23 leaves it: data.db and storage/<collectionId>/<recordId>/<file>. */
function build023(pbData: string): void {
  mkdirSync(pbData, { recursive: true });
  const db = new BetterSqlite3(join(pbData, "data.db"));
  db.pragma("journal_mode = WAL");
  db.exec(`
    CREATE TABLE _params (id TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL, value JSON DEFAULT NULL,
      created TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL, updated TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL);
    CREATE TABLE _collections (id TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
      system BOOLEAN DEFAULT FALSE NOT NULL, type TEXT DEFAULT "base" NOT NULL, name TEXT UNIQUE NOT NULL,
      fields JSON DEFAULT "[]" NOT NULL, indexes JSON DEFAULT "[]" NOT NULL,
      listRule TEXT DEFAULT NULL, viewRule TEXT DEFAULT NULL, createRule TEXT DEFAULT NULL,
      updateRule TEXT DEFAULT NULL, deleteRule TEXT DEFAULT NULL, options JSON DEFAULT "{}" NOT NULL,
      created TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL, updated TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL);
    CREATE INDEX idx__collections_type on _collections (type);
    CREATE TABLE _migrations (file VARCHAR(255) PRIMARY KEY NOT NULL, applied INTEGER NOT NULL);
  `);
  db.prepare("INSERT INTO _params (id, value, created, updated) VALUES ('settings', ?, ?, ?)").run(
    JSON.stringify({
      meta: { appName: "Carol's notes", appURL: "https://notes.example.com", hideControls: false },
      logs: { maxDays: 7, minLevel: 0, logIP: true, logAuthId: false },
    }),
    DATE,
    DATE,
  );
  const addCollection = db.prepare(
    `INSERT INTO _collections (id, system, type, name, fields, indexes, listRule, viewRule, createRule, updateRule, deleteRule, options, created, updated)
     VALUES (@id, @system, @type, @name, @fields, @indexes, @listRule, @viewRule, @createRule, @updateRule, @deleteRule, @options, @created, @updated)`,
  );
  const collection = (c: Record<string, unknown>) =>
    addCollection.run({
      system: 0,
      type: "base",
      listRule: null,
      viewRule: null,
      createRule: null,
      updateRule: null,
      deleteRule: null,
      options: "{}",
      created: DATE,
      updated: DATE,
      ...c,
      fields: JSON.stringify(c.fields),
      indexes: JSON.stringify(c.indexes ?? []),
    });
  const refs = (...names: string[]) =>
    names.map((n, i) => text(n, `text${i}000000${n.length}`, { required: true, system: true }));
  for (const [name, id, extra, rules, index] of [
    [
      "_mfas",
      "pbc_2279338944",
      ["method"],
      { listRule: OWNER, viewRule: OWNER },
      "CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (collectionRef,recordRef)",
    ],
    [
      "_otps",
      "pbc_1638494021",
      ["sentTo"],
      { listRule: OWNER, viewRule: OWNER },
      "CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (collectionRef, recordRef)",
    ],
    [
      "_externalAuths",
      "pbc_2281828961",
      ["provider", "providerId"],
      { listRule: OWNER, viewRule: OWNER, deleteRule: OWNER },
      "CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (collectionRef, recordRef, provider)",
    ],
    [
      "_authOrigins",
      "pbc_4275539003",
      ["fingerprint"],
      { listRule: OWNER, viewRule: OWNER, deleteRule: OWNER },
      "CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (collectionRef, recordRef, fingerprint)",
    ],
  ] as const) {
    collection({
      id,
      name,
      system: 1,
      fields: [idField, ...refs("collectionRef", "recordRef", ...extra), ...autodates(true)],
      indexes: [index],
      ...rules,
    });
    db.exec(refTable(name, name === "_otps" ? ["password", ...extra] : [...extra]));
  }
  collection({
    id: SUPERUSERS_ID,
    name: "_superusers",
    type: "auth",
    system: 1,
    fields: [idField, ...authFields(10), ...autodates(true)],
    indexes: [
      `CREATE UNIQUE INDEX \`idx_tokenKey_${SUPERUSERS_ID}\` ON \`_superusers\` (\`tokenKey\`)`,
      `CREATE UNIQUE INDEX \`idx_email_${SUPERUSERS_ID}\` ON \`_superusers\` (\`email\`) WHERE \`email\` != ''`,
    ],
    options: JSON.stringify({ ...authOptions(), authToken: token(86400) }),
  });
  db.exec(authTable("_superusers"));
  collection({
    id: USERS_ID,
    name: "users",
    type: "auth",
    fields: [
      idField,
      ...authFields(10),
      text("name", "text1579384326", { max: 255 }),
      base("file", "avatar", "file376926767", {
        maxSelect: 1,
        maxSize: 0,
        mimeTypes: ["image/jpeg", "image/png"],
        protected: false,
        thumbs: null,
      }),
      ...autodates(false),
    ],
    indexes: [
      `CREATE UNIQUE INDEX \`idx_tokenKey_${USERS_ID}\` ON \`users\` (\`tokenKey\`)`,
      `CREATE UNIQUE INDEX \`idx_email_${USERS_ID}\` ON \`users\` (\`email\`) WHERE \`email\` != ''`,
    ],
    listRule: "id = @request.auth.id",
    viewRule: "id = @request.auth.id",
    createRule: "",
    updateRule: "id = @request.auth.id",
    deleteRule: "id = @request.auth.id",
    options: JSON.stringify(authOptions("verified = true")),
  });
  db.exec(authTable("users", " `name` TEXT DEFAULT '' NOT NULL, `avatar` TEXT DEFAULT '' NOT NULL,"));
  collection({
    id: NOTES_ID,
    name: "notes",
    fields: [
      idField,
      text("title", "text724990059", { required: true, max: 100 }),
      base("relation", "owner", "relation3479234172", {
        cascadeDelete: true,
        collectionId: USERS_ID,
        maxSelect: 1,
        minSelect: 0,
      }),
      base("select", "labels", "select1068086283", { maxSelect: 2, values: ["work", "home"] }),
      base("number", "stars", "number3632866850", { max: null, min: null, onlyInt: false }),
      base("file", "doc", "file2359244304", {
        maxSelect: 1,
        maxSize: 0,
        mimeTypes: [],
        protected: true,
        thumbs: [],
      }),
      ...autodates(false),
    ],
    indexes: ["CREATE INDEX `idx_notes_owner` ON `notes` (`owner`)"],
    listRule: "owner = @request.auth.id",
    viewRule: "owner = @request.auth.id",
    createRule: "@request.auth.id != '' && @request.body.owner = @request.auth.id",
  });
  db.exec(`CREATE TABLE notes (id TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
    title TEXT DEFAULT '' NOT NULL, owner TEXT DEFAULT '' NOT NULL, labels JSON DEFAULT '[]' NOT NULL,
    stars NUMERIC DEFAULT 0 NOT NULL, doc TEXT DEFAULT '' NOT NULL,
    created TEXT DEFAULT '' NOT NULL, updated TEXT DEFAULT '' NOT NULL)`);
  db.exec("CREATE INDEX `idx_notes_owner` ON `notes` (`owner`)");
  db.prepare("INSERT INTO _superusers VALUES (?, ?, ?, ?, 0, 1, ?, ?)").run(
    "root00000000001",
    hashSync(ROOT.password, { cost: 10, version: "2a" }),
    "t".repeat(50),
    ROOT.email,
    DATE,
    DATE,
  );
  db.prepare("INSERT INTO users VALUES (?, ?, ?, ?, 1, 1, ?, '', ?, ?)").run(
    CAROL_ID,
    hashSync(CAROL.password, { cost: 10, version: "2a" }),
    "k".repeat(50),
    CAROL.email,
    "Carol",
    DATE,
    DATE,
  );
  db.prepare("INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run(
    NOTE_ID,
    "Q3",
    CAROL_ID,
    JSON.stringify(["work", "home"]),
    4.5,
    "report_k3j4h5g6f7.txt",
    DATE,
    DATE,
  );
  db.prepare("INSERT INTO _externalAuths VALUES (?, ?, ?, ?, ?, ?, ?)").run(
    "ext000000000001",
    USERS_ID,
    CAROL_ID,
    "github",
    "gh-4242",
    DATE,
    DATE,
  );
  db.prepare("INSERT INTO _authOrigins VALUES (?, ?, ?, ?, ?, ?)").run(
    "org000000000001",
    USERS_ID,
    CAROL_ID,
    "fingerprint-1",
    DATE,
    DATE,
  );
  db.close();
  const folder = join(pbData, "storage", NOTES_ID, NOTE_ID);
  mkdirSync(join(folder, "thumbs_report_k3j4h5g6f7.txt"), { recursive: true });
  writeFileSync(join(folder, "report_k3j4h5g6f7.txt"), REPORT);
  writeFileSync(
    join(folder, "report_k3j4h5g6f7.txt.attrs"),
    JSON.stringify({ "user.content_type": "text/plain" }),
  );
  writeFileSync(join(folder, "thumbs_report_k3j4h5g6f7.txt", "100x100_report_k3j4h5g6f7.txt"), "thumb");
}

let cwd: string;
let pbData: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-pbimport23-"));
  pbData = join(cwd, "pb_data");
  build023(pbData);
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

async function checkImported(s: Served): Promise<void> {
  const su = new PocketBase(s.url);
  await su.collection("_superusers").authWithPassword(ROOT.email, ROOT.password);
  const carol = new PocketBase(s.url);
  const auth = await carol.collection("users").authWithPassword(CAROL.email, CAROL.password);
  expect(auth.record).toMatchObject({ id: CAROL_ID, name: "Carol", verified: true });

  expect((await su.settings.getAll()).meta.appName).toBe("Carol's notes");
  const users = await su.collections.getOne("users");
  expect(users.authRule).toBe("verified = true");
  expect(users.authToken.duration).toBe(604800);
  const notes = await su.collections.getOne("notes");
  expect(notes.createRule).toBe("@request.auth.id != '' && @request.body.owner = @request.auth.id");
  expect(notes.indexes).toEqual(["CREATE INDEX `idx_notes_owner` ON `notes` (`owner`)"]);
  expect(notes.fields.find((f) => f.name === "doc")).toMatchObject({ type: "file", protected: true });

  const list = await carol.collection("notes").getFullList({ expand: "owner" });
  expect(list).toHaveLength(1);
  expect(list[0]).toMatchObject({
    id: NOTE_ID,
    title: "Q3",
    labels: ["work", "home"],
    stars: 4.5,
    created: DATE,
  });
  expect(list[0].expand?.owner?.email).toBe(CAROL.email);
  // a protected file: a file token of the imported user opens it
  const fileToken = await carol.files.getToken();
  const res = await fetch(carol.files.getURL(list[0], list[0].doc, { token: fileToken }));
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).equals(REPORT)).toBe(true);
  expect((await fetch(carol.files.getURL(list[0], list[0].doc))).status).toBe(404);

  const links = await carol.collection("_externalAuths").getFullList();
  expect(links).toEqual([
    expect.objectContaining({
      collectionRef: USERS_ID,
      recordRef: CAROL_ID,
      provider: "github",
      providerId: "gh-4242",
    }),
  ]);
  expect(await su.collection("_authOrigins").getFullList()).toHaveLength(1);
}

describe("basalt import-pocketbase (PocketBase 0.23+ layout)", () => {
  for (const target of targets) {
    it(`imports into ${target === "sqlite" ? "a SQLite data folder" : "PostgreSQL"}`, async () => {
      const dir = join(cwd, `basalt-${target}`);
      const db = target === "postgres" ? await createTestDatabase() : null;
      const store = db ? ["--db", db.url] : [];
      try {
        const r = runCli(["import-pocketbase", pbData, "--dir", dir, ...store], cwd);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain("PocketBase 0.23+ data folder");
        expect(r.stdout).toMatch(/notes: 1 of 1 records/);
        expect(r.stdout).toMatch(/_externalAuths: 1 of 1 records/);
        // the thumbnail and PocketBase's .attrs file stay behind
        expect(r.stdout).toMatch(/Copied 1 uploaded files/);
        const s = await serve(["--dir", dir, ...store], cwd);
        try {
          await checkImported(s);
        } finally {
          s.child.kill("SIGTERM");
          await s.exited;
        }
      } finally {
        await db?.drop();
      }
    }, 120_000);
  }

  it("refuses a collection Basalt cannot take, naming it, with nothing written", () => {
    const bad = join(cwd, "bad_pb_data");
    build023(bad);
    const db = new BetterSqlite3(join(bad, "data.db"));
    db.prepare("UPDATE _collections SET listRule = ? WHERE name = 'notes'").run("nosuchfield = 1");
    db.close();
    const dir = join(cwd, "never");
    const r = runCli(["import-pocketbase", bad, "--dir", dir], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("BASALT_ERR_PB_IMPORT_COLLECTION");
    expect(r.stderr).toContain("notes");
    expect(r.stderr).toContain("listRule");
    expect(existsSync(dir)).toBe(false);
  }, 60_000);
});
