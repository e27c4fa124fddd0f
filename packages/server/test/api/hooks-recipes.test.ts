import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type PocketBase from "pocketbase";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
import { createUser } from "../harness/fixtures/users.js";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";
import { eventually } from "../harness/sse.js";

// The README's recipes are the files of examples/recipes/basalt_hooks, loaded as they are into a real server.
const RECIPES = resolve(import.meta.dirname, "../../../../examples/recipes/basalt_hooks");

let project: HooksProject;
let server: TestServer;
let mail: MailCapture;
let payments: Server;
const WEBHOOK_SECRET = "whsec_recipe_endpoint";
const charges: { amount: unknown; auth: string | undefined }[] = [];
let alice: PocketBase;
let bob: PocketBase;

beforeAll(async () => {
  const files: Record<string, string> = {};
  for (const name of readdirSync(RECIPES)) files[name] = readFileSync(join(RECIPES, name), "utf8");
  project = hooksProject(files);
  // a stand-in payments provider: declines amounts above 1000
  payments = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const { amount } = JSON.parse(body) as { amount: number };
      charges.push({ amount, auth: req.headers.authorization });
      res.writeHead(amount > 1000 ? 402 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify(amount > 1000 ? { error: "card_declined" } : { id: `ch_${charges.length}` }));
    });
  });
  await new Promise<void>((r) => payments.listen(0, "127.0.0.1", r));
  process.env.PAYMENTS_API_URL = `http://127.0.0.1:${(payments.address() as AddressInfo).port}`;
  process.env.PAYMENTS_API_KEY = "sk_test_recipe";
  process.env.PAYMENTS_WEBHOOK_SECRET = WEBHOOK_SECRET;
  server = await startServer({ hooksDir: project.hooksDir });
  mail = await startMailCapture();
  mail.attach(server);
  const admin = await superuserSdk(server);
  await admin.collections.update("users", { createRule: "" });
  await admin.collections.create({
    name: "orders",
    type: "base",
    listRule: "owner = @request.auth.id",
    viewRule: "owner = @request.auth.id",
    createRule: "@request.auth.id != '' && owner = @request.auth.id",
    deleteRule: "owner = @request.auth.id",
    fields: [
      { name: "quantity", type: "number" },
      { name: "unitPrice", type: "number" },
      { name: "total", type: "number" },
      { name: "status", type: "select", values: ["new", "shipped"], maxSelect: 1 },
      { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
    ],
  });
  await admin.collections.create({
    name: "payments",
    type: "base",
    createRule: "",
    viewRule: "",
    fields: [
      { name: "amount", type: "number", required: true },
      { name: "chargeId", type: "text" },
      { name: "status", type: "text" },
    ],
  });
  await createUser(server, "alice@example.com", "alice-password-1");
  await createUser(server, "bob@example.com", "bob-password-12");
  alice = server.sdk();
  await alice.collection("users").authWithPassword("alice@example.com", "alice-password-1");
  bob = server.sdk();
  await bob.collection("users").authWithPassword("bob@example.com", "bob-password-12");
});

afterAll(async () => {
  await server?.stop();
  await mail?.stop();
  await new Promise((r) => payments?.close(r));
  project?.remove();
});

describe("Business logic recipes (README)", () => {
  it("validate and enrich a record on create", async () => {
    const owner = alice.authStore.record?.id;
    const order = await alice.collection("orders").create({ quantity: 3, unitPrice: 2.5, owner });
    expect(order).toMatchObject({ quantity: 3, total: 7.5, status: "new" });
    await expect(
      alice.collection("orders").create({ quantity: 0, unitPrice: 1, owner }),
    ).rejects.toMatchObject({
      status: 400,
      response: { data: { quantity: { code: "validation_min_quantity" } } },
    });
  });

  it("a custom endpoint with its own rule", async () => {
    await bob.collection("orders").create({ quantity: 1, unitPrice: 10, owner: bob.authStore.record?.id });
    expect(await alice.send("/api/orders/summary", {})).toEqual({ orders: 1, total: 7.5 });
    expect(await bob.send("/api/orders/summary", {})).toEqual({ orders: 1, total: 10 });
    await expect(server.sdk().send("/api/orders/summary", {})).rejects.toMatchObject({ status: 401 });
  });

  it("a welcome e-mail after sign-up", async () => {
    await server.sdk().collection("users").create({
      email: "carol@example.com",
      password: "carol-password-1",
      passwordConfirm: "carol-password-1",
      name: "Carol",
    });
    await server.basalt.app.mail.idle();
    await eventually(() => mail.to("carol@example.com").length === 1, 5000, "welcome mail");
    expect(mail.to("carol@example.com")[0].subject).toBe("Welcome aboard");
    expect(mail.to("carol@example.com")[0].body).toContain("Hello Carol");
  });

  it("calling an external payments API from a hook", async () => {
    const paid = await server.sdk().collection("payments").create({ amount: 120 });
    expect(paid.chargeId).toMatch(/^ch_\d+$/);
    expect(charges.at(-1)).toEqual({ amount: 120, auth: "Bearer sk_test_recipe" });
    await expect(server.sdk().collection("payments").create({ amount: 5000 })).rejects.toMatchObject({
      status: 400,
      response: { data: { amount: { code: "payment_refused" } } },
    });
    expect((await server.basalt.records.list("payments")).totalItems).toBe(1);

    // the provider's signed webhook marks the payment paid, once
    const stripe = new Stripe("sk_test_placeholder");
    const deliver = (event: Record<string, unknown>, secret = WEBHOOK_SECRET, timestamp?: number) => {
      const payload = JSON.stringify(event);
      const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
      return fetch(`${server.url}/api/payments/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": header },
        body: payload,
      });
    };
    const event = { id: "evt_recipe_1", type: "charge.succeeded", data: { object: { id: paid.chargeId } } };
    const forged = await deliver(event, "whsec_someone_else");
    expect(forged.status).toBe(400);
    const stale = await deliver(event, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 3600);
    expect(stale.status).toBe(400);
    expect((await server.basalt.records.findOne("payments", paid.id))?.status).toBe("");
    const ok = await deliver(event);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ received: true });
    expect((await server.basalt.records.findOne("payments", paid.id))?.status).toBe("paid");
    await server.basalt.records.update("payments", paid.id, { status: "refunded" });
    const replay = await deliver(event);
    expect(replay.status).toBe(400);
    expect((await replay.json()) as { message: string }).toMatchObject({
      message: expect.stringMatching(/replay/),
    });
    expect((await server.basalt.records.findOne("payments", paid.id))?.status).toBe("refunded");
    // a message whose work failed (unknown charge) is not remembered: it rolls back with the transaction
    const unknown = { id: "evt_recipe_2", type: "charge.succeeded", data: { object: { id: "ch_nope" } } };
    expect((await deliver(unknown)).status).toBe(404);
    expect((await deliver(unknown)).status).toBe(404);
  });

  it("refusing a delete based on state", async () => {
    const owner = alice.authStore.record?.id;
    const open = await alice.collection("orders").create({ quantity: 1, unitPrice: 1, owner });
    await server.basalt.records.update("orders", open.id, { status: "shipped" });
    await expect(alice.collection("orders").delete(open.id)).rejects.toMatchObject({
      status: 400,
      message: "Shipped orders cannot be deleted.",
    });
    expect(await server.basalt.records.findOne("orders", open.id)).not.toBeNull();
    const other = await alice.collection("orders").create({ quantity: 1, unitPrice: 1, owner });
    await alice.collection("orders").delete(other.id);
    expect(await server.basalt.records.findOne("orders", other.id)).toBeNull();
  });
});
