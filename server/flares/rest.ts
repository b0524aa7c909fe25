/**
 * The runbook's flare route, a thin adapter over the same SQL function as GraphQL fireRescueFlare:
 *   POST /functions/v1/handle-rescue-request {location, flareType} -> {flareId, status}
 */
import { z } from "zod";
import { defineRoute } from "../rest/route.ts";

const RescueRequestBody = z.object({
  location: z.string().max(1000),
  // Matched case-insensitively by public.parse_flare_type.
  flareType: z.string().max(64),
});

export function flareRoutes() {
  return [
    defineRoute("handle-rescue-request", RescueRequestBody, async (input, ctx) => {
      const [result] = await ctx.asCaller([
        { name: "nexus_fire_rescue_flare", text: "select id, status from public.fire_rescue_flare($1, public.parse_flare_type($2))", values: [input.location, input.flareType] },
      ]);
      const flare = result!.rows[0] as { id: string; status: string };
      return { body: { flareId: flare.id, status: flare.status } };
    }),
  ];
}
