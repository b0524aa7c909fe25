/**
 * Proof of life for a runner. graphile-worker leaves a job locked by a worker that died without a word (SIGKILL,
 * out of memory, a lost machine) for four hours; a flare's fan-out cannot wait that long. So each runner
 * registers its worker pool in nexus_private.worker_runners and holds a Postgres advisory lock on a connection of
 * its own while it runs. When the process dies, Postgres ends that session and drops the lock with it;
 * nexus_private.unlock_orphaned_jobs() (run here at start-up and every minute from the crontab) then hands the
 * dead runner's jobs back to the queue.
 */
import type { Pool, PoolClient } from "pg";
import type { Logger } from "../server/log.ts";

export interface RunnerLiveness {
  release(): Promise<void>;
}

export async function holdRunnerLiveness(pool: Pool, poolId: string, log: Logger): Promise<RunnerLiveness> {
  let client: PoolClient | undefined;
  let released = false;

  const hold = async (): Promise<void> => {
    const next = await pool.connect();
    next.on("error", (error) => {
      // The session (and with it the lock) is gone: another runner may now take our jobs. Take the lock again.
      log.warn({ err: error, poolId }, "worker liveness connection lost; registering again");
      next.release(error);
      if (client === next) client = undefined;
      if (!released) setTimeout(() => void hold().catch((e) => log.error({ err: e }, "worker liveness: could not register again")), 1000).unref();
    });
    await next.query("select nexus_private.register_worker_runner($1)", [poolId]);
    client = next;
  };

  await hold();
  const { rows } = await pool.query<{ unlocked: number }>("select nexus_private.unlock_orphaned_jobs() as unlocked");
  if (rows[0]!.unlocked > 0) log.warn({ jobs: rows[0]!.unlocked }, "jobs of a dead worker returned to the queue");

  return {
    async release() {
      if (released) return;
      released = true;
      const held = client;
      client = undefined;
      if (!held) return;
      try {
        await held.query("select nexus_private.unregister_worker_runner($1)", [poolId]);
        held.release();
      } catch (error) {
        held.release(error as Error);
      }
    },
  };
}
