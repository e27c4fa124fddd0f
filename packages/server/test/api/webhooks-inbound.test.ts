import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newWebhookSecret, verifyInbound, WebhookVerificationError } from "../../src/webhooks/index.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// The helper as the embedding program calls it (hook files use app.webhooks.verify on a custom route, see
// hooks-recipes.test.ts), with the raw body and headers a route receives.

const stripe = new Stripe("sk_test_placeholder");
const STRIPE_SECRET = "whsec_test_endpoint_secret";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

function stripeDelivery(event: Record<string, unknown>, timestamp?: number) {
  const rawBody = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({
    payload: rawBody,
    secret: STRIPE_SECRET,
    timestamp,
  });
  return {
    scheme: "stripe" as const,
    secret: STRIPE_SECRET,
    headers: { "stripe-signature": header },
    rawBody,
  };
}

describe("inbound webhook verification", () => {
  it("accepts a Standard Webhooks message once and refuses its replay, a stale one and a forged one", async () => {
    const secret = newWebhookSecret();
    const signer = new StandardWebhook(secret);
    const rawBody = JSON.stringify({ type: "invoice.paid", data: { n: 1 } });
    const sign = (id: string, at: Date) => ({
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signer.sign(id, at, rawBody),
    });
    const db = server.basalt.app.db;
    const ok = await verifyInbound(db, {
      scheme: "standard",
      secret,
      headers: sign("msg_1", new Date()),
      rawBody,
    });
    expect(ok).toEqual({ id: "msg_1", body: { type: "invoice.paid", data: { n: 1 } } });
    await expect(
      verifyInbound(db, { scheme: "standard", secret, headers: sign("msg_1", new Date()), rawBody }),
    ).rejects.toThrow(/replay/);
    await expect(
      verifyInbound(db, {
        scheme: "standard",
        secret,
        headers: sign("msg_2", new Date(Date.now() - 600_000)),
        rawBody,
      }),
    ).rejects.toThrow(/too old/);
    await expect(
      verifyInbound(db, {
        scheme: "standard",
        secret: newWebhookSecret(),
        headers: sign("msg_3", new Date()),
        rawBody,
      }),
    ).rejects.toBeInstanceOf(WebhookVerificationError);
  });

  it("verifies Stripe-Signature headers made by the stripe package, refusing stale and tampered ones", async () => {
    const db = server.basalt.app.db;
    const event = { id: "evt_1", type: "payment_intent.succeeded", data: { object: { id: "pi_1" } } };
    expect((await verifyInbound(db, stripeDelivery(event))).id).toBe("evt_1");
    await expect(verifyInbound(db, stripeDelivery(event))).rejects.toThrow(/replay/);
    const stale = stripeDelivery({ ...event, id: "evt_2" }, Math.floor(Date.now() / 1000) - 3600);
    await expect(verifyInbound(db, stale)).rejects.toThrow(/too old/);
    const tampered = stripeDelivery({ ...event, id: "evt_3" });
    await expect(
      verifyInbound(db, { ...tampered, rawBody: tampered.rawBody.replace("pi_1", "pi_9") }),
    ).rejects.toThrow(/does not match/);
  });
});

describe("payments recipe", () => {
  let provider: Server;
  let providerUrl: string;
  beforeAll(async () => {
    // stands in for the payments provider's "create checkout session" API
    provider = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const { orderId } = JSON.parse(body) as { orderId: string };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: `cs_${orderId}`, url: `https://pay.example.test/cs_${orderId}` }));
      });
    });
    await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve));
    providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => provider.close(() => resolve()));
  });

  it("creates a checkout session, marks the order paid in one transaction, and ignores a replay", async () => {
    const { app } = server.basalt;
    const su = await superuserSdk(server);
    await su.collections.create({
      name: "orders",
      type: "base",
      fields: [
        { name: "status", type: "text" },
        { name: "session", type: "text" },
        { name: "paidEvents", type: "number" },
      ],
    });
    const order = await su.collection("orders").create({ status: "new" });
    const session = (await (
      await fetch(`${providerUrl}/v1/checkout/sessions`, {
        method: "POST",
        body: JSON.stringify({ orderId: order.id }),
      })
    ).json()) as { id: string };
    await su.collection("orders").update(order.id, { session: session.id, status: "pending" });

    const orders = app.collections.get("orders");
    const superuser = { auth: await app.auth.authenticate(su.authStore.token) };
    // what the webhook route does with the provider's request
    const handleWebhook = (delivery: ReturnType<typeof stripeDelivery>) =>
      app.records.transaction(async (records) => {
        const { body } = await verifyInbound(app.db, delivery);
        const object = (body as { data: { object: { id: string; metadata: { orderId: string } } } }).data
          .object;
        const current = await records.view(orders, object.metadata.orderId, superuser);
        await records.update(orders, String(current.id), {
          ...superuser,
          body: { status: "paid", paidEvents: Number(current.paidEvents) + 1 },
        });
      });
    const paid = stripeDelivery({
      id: "evt_paid_1",
      type: "checkout.session.completed",
      data: { object: { id: session.id, metadata: { orderId: order.id } } },
    });
    await handleWebhook(paid);
    expect(await su.collection("orders").getOne(order.id)).toMatchObject({ status: "paid", paidEvents: 1 });
    await expect(handleWebhook(paid)).rejects.toThrow(/replay/);
    expect(await su.collection("orders").getOne(order.id)).toMatchObject({ status: "paid", paidEvents: 1 });
  });
});
