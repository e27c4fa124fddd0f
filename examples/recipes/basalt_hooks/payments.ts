// Recipe: calling an external payments API from a hook. The call is made in the request hook, before the
// record's transaction opens (a slow provider must not hold a database transaction); the charge id it
// returns is stored with the payment, and a refused charge stores nothing. The provider then tells us the
// charge succeeded through a signed webhook (Stripe's \`Stripe-Signature\` scheme): a custom route checks the
// signature over the body as received and marks the payment paid in one transaction; a replay is refused.
import type { HookApi } from "basalt";

export default function (app: HookApi) {
  app.onRecordCreateRequest(
    async (e) => {
      const res = await fetch(`${process.env.PAYMENTS_API_URL}/charges`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${process.env.PAYMENTS_API_KEY}`,
        },
        body: JSON.stringify({ amount: e.body.amount, currency: "eur" }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) {
        throw app.errors.badRequest("The payment was refused.", {
          amount: app.errors.fieldError("payment_refused", "The card was declined."),
        });
      }
      const charge = (await res.json()) as { id: string };
      e.body.chargeId = charge.id;
      return e.next();
    },
    { collections: ["payments"] },
  );

  app.router.post("/api/payments/webhook", async (e) => {
    const secret = process.env.PAYMENTS_WEBHOOK_SECRET ?? "";
    if (!e.rawBody || !secret) throw app.errors.badRequest("Missing webhook body or secret.");
    await app.runInTransaction(async (tx) => {
      // the message counts as received only if this transaction commits
      const { body } = await app.webhooks.verify({
        scheme: "stripe",
        secret,
        headers: e.headers,
        rawBody: e.rawBody!,
      });
      const event = body as { type: string; data: { object: { id: string } } };
      if (event.type !== "charge.succeeded") return;
      const payment = await tx.findFirst("payments", "chargeId = {:charge}", {
        charge: event.data.object.id,
      });
      if (!payment) throw app.errors.notFound("No payment has this charge.");
      await tx.update("payments", String(payment.id), { status: "paid" });
    });
    return { received: true };
  });
}
