// Recipe: calling an external payments API from a hook. The call is made in the request hook, before the
// record's transaction opens (a slow provider must not hold a database transaction); the charge id it
// returns is stored with the payment, and a refused charge stores nothing.
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
}
