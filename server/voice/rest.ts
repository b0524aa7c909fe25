/**
 * The runbook's voice routes, thin adapters over the same SQL functions and signing code as GraphQL:
 *   POST /functions/v1/livekit-token  {roomName, participantName} -> {token, serverUrl, …}
 *   POST /functions/v1/net-bridge     {sourceNetId, targetNetId, action} -> {id, source_net_id, target_net_id}
 */
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { defineRoute } from "../rest/route.ts";
import { loadVoiceGrants, signVoiceToken } from "./tokens.ts";

const livekitTokenBody = z
  .object({
    roomName: z.string().trim().min(1).max(128).optional(),
    netId: z.uuid().optional(),
    // The old frontend's useLiveKitToken sends these. Accepted and ignored: the participant's identity, name and
    // rank come from the verified JWT and the database, never from the client.
    participantName: z.unknown().optional(),
    identity: z.unknown().optional(),
    role: z.unknown().optional(),
  })
  .refine((body) => Boolean(body.roomName) !== Boolean(body.netId), { message: "give roomName (or netId)" });

const netBridgeBody = z.object({
  sourceNetId: z.uuid(),
  targetNetId: z.uuid(),
  action: z.enum(["link", "unlink"]),
});

interface BridgeRow {
  id: string | null;
  source_net_id: string | null;
  target_net_id: string | null;
}

export function voiceRoutes(config: Config) {
  return [
    defineRoute("livekit-token", livekitTokenBody, async (body, ctx) => {
      const grants = await loadVoiceGrants(ctx.asCaller, config, [body.netId ?? body.roomName!]);
      return { body: signVoiceToken(config, grants) };
    }),
    defineRoute("net-bridge", netBridgeBody, async (body, ctx) => {
      const fn = body.action === "link" ? "public.link_voice_nets" : "public.unlink_voice_nets";
      const [result] = await ctx.asCaller([
        { name: `nexus_${body.action}_voice_nets`, text: `select b.id, b.source_net_id, b.target_net_id from ${fn}($1, $2) b`, values: [body.sourceNetId, body.targetNetId] },
      ]);
      const row = result!.rows[0] as BridgeRow | undefined;
      // Unlinking a pair that has no bridge is not an error (idempotent): id is null.
      return {
        body: {
          id: row?.id ?? null,
          source_net_id: row?.source_net_id ?? body.sourceNetId,
          target_net_id: row?.target_net_id ?? body.targetNetId,
        },
      };
    }),
  ];
}
