/** Daily (crontab): delete live voice rights changes and audit rows older than 30 days. */
import type { Task } from "graphile-worker";
import { workerContext } from "../context.ts";

const task: Task = async (_payload, helpers) => {
  const { rows } = await helpers.withPgClient((client) => client.query<{ removed: number }>("select nexus_private.voice_rights_prune() as removed"));
  workerContext().log.info({ removed: rows[0]!.removed }, "live voice rights history pruned");
};

export default task;
