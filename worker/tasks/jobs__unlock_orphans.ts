/**
 * Every minute (crontab), and at every runner's start: jobs held by a runner that died without releasing them go
 * back to the queue at once, instead of after graphile-worker's four hours (see worker/liveness.ts).
 */
import type { Task } from "graphile-worker";
import { workerContext } from "../context.ts";

const task: Task = async (_payload, helpers) => {
  const { rows } = await helpers.withPgClient((client) =>
    client.query<{ unlocked: number }>("select nexus_private.unlock_orphaned_jobs() as unlocked"),
  );
  if (rows[0]!.unlocked > 0) workerContext().log.warn({ jobs: rows[0]!.unlocked }, "jobs of a dead worker returned to the queue");
};

export default task;
