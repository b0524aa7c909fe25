/** Voice nets: rank-gated LiveKit tokens and net bridging (issue #3). */
import type { NexusModule } from "../modules.ts";
import { voicePlugin } from "./graphql.ts";
import { voiceRoutes } from "./rest.ts";

export const voiceModule: NexusModule = {
  name: "voice",
  plugins: ({ config }) => [voicePlugin(config)],
  restRoutes: ({ config }) => voiceRoutes(config),
};
