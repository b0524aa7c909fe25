/**
 * Crontab sweep, every minute: unlock the jobs of workers that stopped refreshing their heartbeat, and keep only the
 * newest dead letter of each periodic task (see worker/runner.ts).
 */
import type { Task } from "graphile-worker";
import { workerContext } from "../context.ts";
import { pruneSupersededDeadLetters, unlockDeadWorkers } from "../runner.ts";

const task: Task = async () => {
  const { config, pool, log, cronTasks } = workerContext();
  await unlockDeadWorkers(pool, config.workerDeadAfterSeconds, log);
  await pruneSupersededDeadLetters(pool, cronTasks, log);
};

export default task;
