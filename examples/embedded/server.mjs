// Basalt as a library: one Node program that defines its collection, business rules, a custom route, a
// background job and a cron job in code, then serves the whole API. Run it with `node server.mjs`.
import { createApp } from "basalt";

const basalt = await createApp({
  dataDir: process.env.DATA_DIR ?? "./example_data",
  http: process.env.HTTP ?? "127.0.0.1:8090",
  logLevel: "warn",
});

// The collection, created in code the first time (and left alone afterwards).
if (!basalt.collections.find("tasks")) {
  await basalt.collections.create({
    name: "tasks",
    type: "base",
    listRule: "",
    viewRule: "",
    createRule: "",
    fields: [
      { name: "title", type: "text", required: true, max: 100 },
      { name: "priority", type: "number", onlyInt: true },
      { name: "done", type: "bool" },
    ],
  });
}

// A business rule inside the write's transaction: titles are trimmed, priorities default to 1 and above 5
// are refused with a field error the SDK shows as it shows PocketBase's.
basalt.onRecordCreate(
  (e) => {
    e.record.title = String(e.record.title ?? "").trim();
    if (!e.record.priority) e.record.priority = 1;
    if (Number(e.record.priority) > 5) {
      throw basalt.errors.badRequest("Failed to create record.", {
        priority: basalt.errors.fieldError("validation_max_priority", "Priority goes up to 5."),
      });
    }
    return e.next();
  },
  { collections: ["tasks"] },
);

// After the commit: work that must not hold the request goes to the durable job queue.
basalt.onRecordAfterCreateSuccess(
  async (e) => {
    await basalt.jobs.enqueue("task-created", { id: e.record.id });
    return e.next();
  },
  { collections: ["tasks"] },
);
basalt.jobs.handle("task-created", async ({ payload }) => {
  basalt.log.info({ task: payload.id }, "a task was created");
});

// A custom endpoint with its own rule: signed-in users only.
basalt.router.get(
  "/api/tasks/stats",
  async () => {
    const open = await basalt.records.list("tasks", {
      filter: "done = {:done}",
      params: { done: false },
      skipTotal: false,
    });
    return { open: open.totalItems };
  },
  basalt.middlewares.requireAuth(),
);
// A public one.
basalt.router.get("/api/tasks/hello/:name", (e) => ({ message: `Hello, ${e.params.name}!` }));

// Every night at 03:00 UTC, once across all instances: done tasks go.
basalt.cron.add("purge-done-tasks", "0 3 * * *", async () => {
  const done = await basalt.records.list("tasks", { filter: "done = true", perPage: 500 });
  for (const task of done.items) await basalt.records.delete("tasks", String(task.id));
});

const url = await basalt.start();
console.log(`example listening at ${url}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    basalt.stop().then(() => process.exit(0));
  });
}
