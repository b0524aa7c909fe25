/** Voice nets: rank-gated LiveKit tokens and net bridging (issue #3), and live rights on /metrics (issue #13). */
import { makeAsCaller } from "../../core/database/caller.ts";
import type { NexusModule } from "../context.ts";
import { voicePlugin } from "./graphql.ts";
import { liveRightsMetrics } from "./metrics.ts";
import { voiceRoutes } from "./rest.ts";

export const voiceModule: NexusModule = {
  name: "voice",
  plugins: ({ config, pool }) => [voicePlugin(config, makeAsCaller(pool))],
  restRoutes: ({ config }) => voiceRoutes(config),
  metrics: (registry, ctx) => liveRightsMetrics(registry, ctx),
};
