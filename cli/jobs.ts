/**
 * `npm run nexus -- jobs …`: the job queue from a terminal, through the same SQL functions as GraphQL and /ops
 * (job_queue_stats, failed_jobs, cron_schedule, retry_jobs, discard_jobs), run as service_role and audited.
 *
 *   jobs                          queue depth per task and cron last runs
 *   jobs --failed [--task T]      dead letters with their last error and payload
 *   jobs --retry ID… | all        put jobs back in the queue now, attempts reset (`all`: every dead letter)
 *   jobs --discard ID… | all      delete jobs (not running ones)
 */
import type pg from "pg";

export const JOBS_USAGE = `  jobs [--task T]                                           queue depth per task, cron last runs
  jobs --failed [--task T]                                  dead letters: last error and payload
  jobs --retry ID… | --retry all [--task T]                 retry now with attempts reset
  jobs --discard ID… | --discard all [--task T]             delete jobs that are not running`;

export class JobsUsageError extends Error {}

export interface JobsRequest {
  action: "show" | "failed" | "retry" | "discard";
  task?: string;
  /** Job ids, or "all" for every dead letter (of --task, if given). */
  ids: string[] | "all";
}

export function parseJobsArgs(argv: string[]): JobsRequest {
  let action = "show" as JobsRequest["action"];
  let task: string | undefined;
  const ids: string[] = [];
  let all = false;
  const setAction = (next: JobsRequest["action"]) => {
    if (action !== "show" && action !== next) throw new JobsUsageError("give one of --failed, --retry, --discard");
    action = next;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag === "--failed") setAction("failed");
    else if (flag === "--retry") setAction("retry");
    else if (flag === "--discard") setAction("discard");
    else if (flag === "--task") {
      task = inline ?? argv[++i];
      if (!task) throw new JobsUsageError("--task needs a task identifier");
      continue;
    } else if (flag.startsWith("-")) throw new JobsUsageError(`unknown option ${flag}`);
    const values = flag.startsWith("-") ? (inline ?? "") : flag;
    for (const value of values.split(",").filter(Boolean)) {
      if (value === "all") all = true;
      else if (/^\d{1,18}$/.test(value)) ids.push(value);
      else throw new JobsUsageError(`not a job id: ${value}`);
    }
  }
  if ((ids.length || all) && action !== "retry" && action !== "discard") {
    throw new JobsUsageError("job ids go with --retry or --discard");
  }
  if ((action === "retry" || action === "discard") && !ids.length && !all) {
    throw new JobsUsageError(`--${action} needs job ids (or all)`);
  }
  if (all && ids.length) throw new JobsUsageError("give job ids or all, not both");
  return { action, task, ids: all ? "all" : ids };
}

type Run = <T>(fn: (client: pg.Client) => Promise<T>) => Promise<T>;

interface StatRow {
  task_identifier: string;
  queued: number;
  scheduled: number;
  running: number;
  failed: number;
  oldest_queued_at: Date | null;
}
interface JobRow {
  id: string;
  task_identifier: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  payload: unknown;
  key: string | null;
  updated_at: Date;
}
interface CronRow {
  identifier: string;
  known_since: Date;
  last_execution: Date | null;
}

function timestamp(date: Date | null): string {
  return date ? date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "—";
}

function age(date: Date | null, now = Date.now()): string {
  if (!date) return "—";
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** A plain-text table; the last column is cut to fit the terminal. */
export function formatTable(headers: string[], rows: string[][], numeric: boolean[] = [], width = 120): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fixed = widths.slice(0, -1).reduce((n, w) => n + w + 2, 0);
  widths[widths.length - 1] = Math.max(headers.at(-1)!.length, Math.min(widths.at(-1)!, width - fixed));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const w = widths[i]!;
        const text = cell.length > w ? `${cell.slice(0, Math.max(0, w - 1))}…` : cell;
        return numeric[i] ? text.padStart(w) : i === cells.length - 1 ? text : text.padEnd(w);
      })
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

const oneLine = (text: string | null) => (text ?? "").replace(/\s+/g, " ").trim();

export async function runJobs(request: JobsRequest, run: Run, width = process.stdout.columns || 120): Promise<{ output: string; code: number }> {
  if (request.action === "show") {
    const [stats, cron] = await run(async (client) => [
      (await client.query<StatRow>("select * from public.job_queue_stats()")).rows.filter(
        (r) => !request.task || r.task_identifier === request.task,
      ),
      (await client.query<CronRow>("select * from public.cron_schedule()")).rows,
    ] as const);
    let output = stats.length
      ? formatTable(
          ["TASK", "QUEUED", "LATER", "RUNNING", "DEAD", "OLDEST WAITING"],
          stats.map((r) => [r.task_identifier, String(r.queued), String(r.scheduled), String(r.running), String(r.failed), age(r.oldest_queued_at)]),
          [false, true, true, true, true, false],
          width,
        )
      : "no tasks registered yet (no worker has started against this database)\n";
    if (cron.length) {
      output +=
        "\n" +
        formatTable(
          ["CRON", "LAST RUN", "AGO", "KNOWN SINCE"],
          cron.map((c) => [c.identifier, timestamp(c.last_execution), age(c.last_execution), timestamp(c.known_since)]),
          [false, false, true, false],
          width,
        );
    }
    const dead = stats.reduce((n, r) => n + r.failed, 0);
    if (dead) output += `\n${dead} dead letter${dead === 1 ? "" : "s"}: npm run nexus -- jobs --failed\n`;
    return { output, code: 0 };
  }

  if (request.action === "failed") {
    const jobs = await run(async (client) => (await client.query<JobRow>("select * from public.failed_jobs($1)", [request.task ?? null])).rows);
    if (!jobs.length) return { output: `no dead letters${request.task ? ` for ${request.task}` : ""}\n`, code: 0 };
    return {
      output: formatTable(
        ["ID", "TASK", "ATTEMPTS", "FAILED AT", "LAST ERROR · PAYLOAD"],
        jobs.map((j) => [
          j.id,
          j.task_identifier,
          `${j.attempts}/${j.max_attempts}`,
          timestamp(j.updated_at),
          `${oneLine(j.last_error)} · ${JSON.stringify(j.payload)}`,
        ]),
        [true, false, true, false, false],
        width,
      ),
      code: 0,
    };
  }

  const fn = request.action === "retry" ? "retry_jobs" : "discard_jobs";
  const { requested, done } = await run(async (client) => {
    const ids =
      request.ids === "all"
        ? (await client.query<{ id: string }>("select id from public.failed_jobs($1)", [request.task ?? null])).rows.map((r) => r.id)
        : request.ids;
    if (!ids.length) return { requested: ids, done: [] as JobRow[] };
    const { rows } = await client.query<JobRow>(`select * from public.${fn}($1::bigint[])`, [ids]);
    return { requested: ids, done: rows };
  });
  const verb = request.action === "retry" ? "retried" : "discarded";
  if (!requested.length) return { output: `no dead letters${request.task ? ` for ${request.task}` : ""}; nothing ${verb}\n`, code: 0 };
  const doneIds = new Set(done.map((j) => String(j.id)));
  const skipped = requested.filter((id) => !doneIds.has(id));
  let output = `${verb} ${done.length} job${done.length === 1 ? "" : "s"}${done.length ? `: ${done.map((j) => `${j.id} (${j.task_identifier})`).join(", ")}` : ""}\n`;
  if (skipped.length) output += `skipped ${skipped.join(", ")}: running right now, or no such job\n`;
  return { output, code: skipped.length ? 1 : 0 };
}
