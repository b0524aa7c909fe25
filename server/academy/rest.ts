/**
 * The runbook's academy routes, thin adapters over the same SQL functions and signing code as GraphQL:
 *   POST /functions/v1/academy-request {skillId}   -> {requestId, status: "PENDING"}
 *   POST /functions/v1/academy-accept  {requestId} -> {simPodId, requestId, roomName, expiresAt, connectionTokens: [mentor's token]}
 *   POST /functions/v1/academy-join    {simPodId}  -> the caller's SimPodToken (not in the runbook: the cadet's way
 *                                                     in for a client that speaks only REST)
 */
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { defineRoute } from "../rest/route.ts";
import { acceptTraining, loadSimPodGrant, signAcceptance, signSimPodToken } from "./tokens.ts";

const academyRequestBody = z.object({ skillId: z.uuid() });
const academyAcceptBody = z.object({ requestId: z.uuid() });
const academyJoinBody = z.object({ simPodId: z.string().trim().min(1).max(64) });

export function academyRoutes(config: Config) {
  return [
    defineRoute("academy-request", academyRequestBody, async (body, ctx) => {
      const [result] = await ctx.asCaller([{ name: "nexus_request_training", text: "select r.id, r.status from public.request_training($1) r", values: [body.skillId] }]);
      const row = result!.rows[0] as { id: string; status: string };
      return { body: { requestId: row.id, status: row.status } };
    }),
    defineRoute("academy-accept", academyAcceptBody, async (body, ctx) => {
      const grant = await acceptTraining(ctx.asCaller, config, body.requestId);
      return { body: await signAcceptance(config, grant) };
    }),
    defineRoute("academy-join", academyJoinBody, async (body, ctx) => {
      const grant = await loadSimPodGrant(ctx.asCaller, config, body.simPodId);
      return { body: await signSimPodToken(config, grant) };
    }),
  ];
}
