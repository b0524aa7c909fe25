/** Academy: training requests, mentors and sim pods (issue #6). */
import { makeAsCaller } from "../../core/database/caller.ts";
import type { NexusModule } from "../context.ts";
import { academyPlugin } from "./graphql.ts";
import { academyRoutes } from "./rest.ts";

export const academyModule: NexusModule = {
  name: "academy",
  plugins: ({ config, pool }) => [academyPlugin(config, makeAsCaller(pool))],
  restRoutes: ({ config }) => academyRoutes(config),
};
