// Recipe: validate and enrich a record on create. Runs inside the write's transaction, before the
// collection's own validation: a throw refuses the request with PocketBase's error shape.
import type { HookApi } from "basalt";

export default function (app: HookApi) {
  app.onRecordCreate(
    (e) => {
      const quantity = Number(e.record.quantity);
      if (!Number.isInteger(quantity) || quantity < 1) {
        throw app.errors.badRequest("Failed to create record.", {
          quantity: app.errors.fieldError("validation_min_quantity", "Order at least one item."),
        });
      }
      e.record.total = quantity * Number(e.record.unitPrice);
      e.record.status = "new";
      return e.next();
    },
    { collections: ["orders"] },
  );
}
