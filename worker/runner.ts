/**
 * graphile-worker: tasks are the files in worker/tasks (one task a file, `<subject>__<action>.ts`; task-list.ts
 * keeps the old names of renamed ones), schedules are in worker/crontab. Any number of runners may share the queue; jobs are claimed with SKIP LOCKED.
 *
 * Two runners share the process: push delivery (tasks in PUSH_TASKS) has its own PUSH_CONCURRENCY slots, and every
 * other task (webhook applies, fan-outs, sweeps, the crontab) its WORKER_CONCURRENCY. A push service that is
 * slow or stalling can hold push slots until PUSH_TIMEOUT_MS, never the slots presence depends on; a queue name
 * would not do this (graphile-worker runs one job of a named queue at a time, cluster-wide).
 *
 * Liveness: every runner refreshes a heartbeat for the ids its workers lock jobs with. At start-up, and from the
 * `worker__unlock_dead` crontab sweep, the jobs of ids silent for WORKER_DEAD_AFTER_SECONDS are unlocked, so a
 * worker killed mid-job (SIGKILL, OOM) delays its jobs by about a minute rather than graphile-worker's 4 hours.
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import { Logger as GraphileLogger, parseCrontab, run, type Runner, type TaskList, type WorkerEvents } from "graphile-worker";
import type { Pool } from "pg";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
import { setWorkerContext } from "./context.ts";
import { loadTaskList } from "./task-list.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Tasks that talk to push services: they run in the push runner, with its own concurrency. */
export const PUSH_TASKS = new Set(["push__deliver"]);

export interface WorkerOptions {
  config: Config;
  pool: Pool;
  log: Logger;
  taskDirectory?: string;
  crontabFile?: string;
  concurrency?: number;
}

interface FailedJob {
  id: string;
  task_identifier: string;
  attempts: number;
  max_attempts: number;
}

/**
 * graphile-worker's own messages, into our JSON log (its per-job "Completed task" lines at debug). An error it
 * passes goes under `err`, where the log's serializer writes its message and stack (under its own `error` key an
 * Error is `{}`). A failed attempt that will be retried is a warning with the attempt and the next step; the last
 * one, which leaves a dead letter (`npm run nexus -- jobs --failed`), is an error.
 */
function workerLogger(log: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const { error, failure, success, job, duration, ...rest } = (meta ?? {}) as { error?: unknown; failure?: unknown; success?: unknown; job?: FailedJob; duration?: number };
    if (failure === true && job) {
      const last = job.attempts >= job.max_attempts;
      log[last ? "error" : "warn"](
        { scope: "graphile-worker", ...scope, ...rest, jobId: job.id, task: job.task_identifier, attempt: job.attempts, maxAttempts: job.max_attempts, ms: duration, err: error },
        last ? "job failed for good: a dead letter now (npm run nexus -- jobs --failed)" : "job attempt failed; it will be retried",
      );
      return;
    }
    // "Completed task N (…) with success" comes at info from the worker's scope (label "worker", no task), once a
    // job: every cron run and push batch, next to the task's own line. It is debug here; its warnings and errors stay.
    const pinoLevel =
      level === "error" ? "error" : level === "warning" ? "warn" : level === "info" && !scope.taskIdentifier && success !== true ? "info" : "debug";
    const about = job ? { jobId: job.id, task: job.task_identifier, ...(duration !== undefined ? { ms: duration } : {}) } : {};
    log[pinoLevel]({ scope: "graphile-worker", ...scope, ...rest, ...about, ...(error !== undefined ? { err: error } : {}) }, message);
  });
}

/**
 * Of each periodic task, only its newest dead letter is kept: every run of a task that keeps failing (LiveKit
 * unreachable for presence__reconcile) would otherwise add one (nexus_private.prune_superseded_dead_letters).
 */
export async function pruneSupersededDeadLetters(pool: Pool, cronTasks: readonly string[], log: Logger): Promise<number> {
  if (cronTasks.length === 0) return 0;
  const { rows } = await pool.query<{ pruned: number }>("select nexus_private.prune_superseded_dead_letters($1::text[]) as pruned", [cronTasks]);
  const pruned = rows[0]?.pruned ?? 0;
  if (pruned > 0) log.debug({ pruned }, "older dead letters of periodic tasks deleted: each task keeps its newest");
  return pruned;
}

export async function unlockDeadWorkers(pool: Pool, deadAfterSeconds: number, log: Logger): Promise<string[]> {
  const { rows } = await pool.query<{ dead: string[] }>(
    "select nexus_private.unlock_dead_workers(make_interval(secs => $1)) as dead",
    [deadAfterSeconds],
  );
  const dead = rows[0]?.dead ?? [];
  if (dead.length > 0) log.warn({ workerIds: dead }, "unlocked the jobs of workers that stopped answering");
  return dead;
}

/** The crontab the worker runs (worker/crontab unless a test names another). */
export const CRONTAB_FILE = path.join(HERE, "crontab");

/** The tasks a crontab file runs, each once. */
export async function crontabTasks(file: string): Promise<string[]> {
  return [...new Set(parseCrontab(await readFile(file, "utf8")).map((item) => item.task))];
}

export async function startWorker(options: WorkerOptions): Promise<Runner> {
  const { config, pool, log } = options;
  const crontabFile = options.crontabFile ?? CRONTAB_FILE;
  setWorkerContext({ config, pool, log, cronTasks: await crontabTasks(crontabFile) });
  const runnerId = randomUUID();
  const workerIds = new Set<string>();
  const beat = () =>
    pool
      .query("select nexus_private.worker_heartbeat($1, $2, $3, $4)", [[...workerIds], runnerId, os.hostname(), process.pid])
      .catch((error) => log.warn({ err: error }, "worker heartbeat failed"));

  await unlockDeadWorkers(pool, config.workerDeadAfterSeconds, log);
  const concurrency = options.concurrency ?? config.workerConcurrency;
  const events = new EventEmitter() as WorkerEvents;
  events.on("pool:create", ({ workerPool }) => workerIds.add(workerPool.id));
  events.on("worker:create", ({ worker }) => {
    workerIds.add(worker.workerId);
    void beat();
  });
  const logger = workerLogger(log);
  const tasks = await loadTaskList(options.taskDirectory ?? path.join(HERE, "tasks"), logger);
  const split = (push: boolean): TaskList =>
    Object.fromEntries(Object.entries(tasks.tasks).filter(([identifier]) => PUSH_TASKS.has(identifier) === push));
  const pushTasks = split(true);
  const runner = await run({
    events,
    logger,
    pgPool: pool,
    taskList: split(false),
    crontabFile,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    preset: {
      worker: {
        // Fetch jobs in batches and complete them in batches: a webhook burst is thousands of millisecond-long
        // jobs, and per-job round trips to fetch and complete them would cost more than the jobs themselves.
        // A new-job notification that arrives during the refetch delay (after an empty fetch) must still fetch:
        // graphile-worker 0.18 only counts it against maxAbortThreshold and otherwise leaves the job for the next
        // poll (up to pollInterval later). A threshold of 1 makes the first such notification fetch at once, so a
        // job enqueued right after the queue ran dry (a live rights change, docs/live-permissions.md) starts in
        // milliseconds, not a second.
        localQueue: { size: Math.max(2, concurrency * 10), refetchDelay: { durationMs: 10, maxAbortThreshold: 1 } },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
  });
  // Push jobs are few and long (a batch of up to PUSH_BATCH_SIZE pushes): fetched one at a time, so a busy push
  // runner does not hold locked jobs another worker process could be sending.
  const pushRunner =
    Object.keys(pushTasks).length > 0
      ? await run({
          events,
          logger,
          pgPool: pool,
          taskList: pushTasks,
          parsedCronItems: [],
          concurrency: config.push.concurrency,
          noHandleSignals: true,
          pollInterval: 1000,
        })
      : undefined;
  // A runner that replaces one that just died (a restart after a crash) finds its predecessor not yet silent long
  // enough to be declared dead; look again once it would be, rather than waiting for the minute sweep.
  setTimeout(
    () => void unlockDeadWorkers(pool, config.workerDeadAfterSeconds, log).catch((error) => log.warn({ err: error }, "unlocking dead workers failed")),
    (config.workerDeadAfterSeconds + 1) * 1000,
  ).unref();
  // Liveness is not a job: a stuck or dead worker could not run it. Hence a timer, not the crontab.
  const timer = setInterval(beat, Math.max(1000, (config.workerDeadAfterSeconds * 1000) / 4));
  timer.unref();
  const stop = runner.stop.bind(runner);
  const kill = runner.kill.bind(runner);
  runner.stop = async (reason?: string) => {
    clearInterval(timer);
    await Promise.all([stop(reason), pushRunner?.stop(reason)]);
    await tasks.release();
    await pool.query("select nexus_private.worker_gone($1)", [runnerId]).catch(() => {});
  };
  runner.kill = async (reason?: string) => {
    clearInterval(timer);
    await Promise.all([kill(reason), pushRunner?.kill(reason)]);
    await tasks.release();
  };
  if (pushRunner) {
    const both = Promise.all([runner.promise, pushRunner.promise]).then(() => undefined);
    runner.promise = both;
  }
  // The VAPID public key it signs pushes with (public, as GET /push/vapid-public-key serves it): a worker whose pair
  // differs from the server's has every push refused with 403, and this is where the two can be compared.
  log.info(
    { concurrency, pushConcurrency: pushRunner ? config.push.concurrency : 0, runnerId, vapidPublicKey: config.vapid.publicKey ?? null },
    "worker started",
  );
  return runner;
}
