/**
 * Task payloads are validated at the top of each task. A payload that can never be valid is given up at once:
 * the job becomes a dead letter carrying the reason (nexus_private.give_up_job), which operators see in
 * failedJobs, on /ops and with `nexus jobs --failed`, and can discard; retrying it would fail the same way every
 * time, and dropping it would hide it.
 */
import type { JobHelpers } from "graphile-worker";
import type { z } from "zod";
import { workerContext } from "./context.ts";

/** Thrown by a task for a job it gives up; graphile-worker records the message as the job's last error. */
export class DeadLetter extends Error {}

/** Make the running job a dead letter with `reason`: call as `throw await giveUp(helpers, reason)`. */
export async function giveUp(helpers: JobHelpers, reason: string, details: Record<string, unknown> = {}): Promise<DeadLetter> {
  const { job } = helpers;
  await helpers.withPgClient((client) => client.query("select nexus_private.give_up_job($1, $2)", [job.id, job.locked_by]));
  workerContext().log.warn({ job: job.id, task: job.task_identifier, reason, ...details }, "job given up: it is a dead letter for an operator");
  return new DeadLetter(reason);
}

export async function parsePayload<S extends z.ZodType>(schema: S, payload: unknown, helpers: JobHelpers): Promise<z.infer<S>> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw await giveUp(helpers, `payload is not valid: ${issue.path.join(".") || "payload"}: ${issue.message}`, { payload });
}
