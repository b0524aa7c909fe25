/**
 * Task payloads are validated at the top of each task. A payload that can never be valid is logged once, with
 * the job, and the job completes: retrying it would fail the same way every time.
 */
import type { JobHelpers } from "graphile-worker";
import type { z } from "zod";
import { workerContext } from "./context.ts";

export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown, helpers: JobHelpers): z.infer<S> | undefined {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  workerContext().log.error(
    { job: helpers.job.id, task: helpers.job.task_identifier, payload, issue: `${issue.path.join(".") || "payload"}: ${issue.message}` },
    "dropping a job whose payload is not valid",
  );
  return undefined;
}
