/** Crontab sweep: unlock the jobs of workers that stopped refreshing their heartbeat (see worker/runner.ts). */
import type { Task } from "graphile-worker";
import { workerContext } from "../context.ts";
import { unlockDeadWorkers } from "../runner.ts";

const task: Task = async () => {
  const { config, pool, log } = workerContext();
  await unlockDeadWorkers(pool, config.workerDeadAfterSeconds, log);
};

export default task;
