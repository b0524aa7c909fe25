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
      const { rows } = await ctx.withClient((client) =>
        client.query<{ id: string; status: string }>({
          text: "select id, status from public.fire_rescue_flare($1, public.parse_flare_type($2))",
          values: [input.location, input.flareType],
        }),
      );
      return { body: { flareId: rows[0]!.id, status: rows[0]!.status } };
    }),
  ];
}
