/** Daily (crontab): delete notification_queue rows sent or failed more than 30 days ago. */
import type { Task } from "graphile-worker";
import { workerContext } from "../context.ts";

const task: Task = async (_payload, helpers) => {
  const { rows } = await helpers.withPgClient((client) =>
    client.query<{ removed: number }>("select nexus_private.prune_notification_queue() as removed"),
  );
  workerContext().log.info({ removed: rows[0]!.removed }, "notification queue pruned");
};

export default task;
