// Recipe: refusing a delete based on state. Inside the delete's transaction, so the record read is the one
// being deleted; a shipped order stays.
import type { HookApi } from "basalt";

export default function (app: HookApi) {
  app.onRecordDelete(
    (e) => {
      if (e.record.status === "shipped") {
        throw app.errors.badRequest("Shipped orders cannot be deleted.");
      }
      return e.next();
    },
    { collections: ["orders"] },
  );
}
