// Recipe: a custom endpoint with its own rule. Only signed-in users; each sees the totals of the orders the
// collection's list rule lets them see (the records are read on their behalf).
import type { HookApi } from "basalt";

export default function (app: HookApi) {
  app.router.get(
    "/api/orders/summary",
    async (e) => {
      const mine = await app.records.as(e.auth).list("orders", { perPage: 500 });
      const total = mine.items.reduce((sum, o) => sum + Number(o.total), 0);
      return { orders: mine.totalItems, total };
    },
    app.middlewares.requireAuth("users"),
  );
}
