/**
 * Hourly (crontab): forget failed sign-ins and sign-ups past their windows, and sessions ended or idle for longer
 * than the idle limit (nexus_private.prune_sign_in_state). The limits hold without it; this keeps the tables small.
 */
import type { Task } from "graphile-worker";
import { workerContext } from "../context.ts";

const task: Task = async (_payload, helpers) => {
  const { rows } = await helpers.withPgClient((client) =>
    client.query<{ removed: number }>("select nexus_private.prune_sign_in_state() as removed"),
  );
  workerContext().log.info({ removed: rows[0]!.removed }, "sign-in state pruned");
};

export default task;
