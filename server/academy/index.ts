/** Academy: training requests, mentors and sim pods (issue #6). */
import type { NexusModule } from "../context.ts";
import { academyPlugin } from "./graphql.ts";
import { academyRoutes } from "./rest.ts";

export const academyModule: NexusModule = {
  name: "academy",
  plugins: ({ config }) => [academyPlugin(config)],
  restRoutes: ({ config }) => academyRoutes(config),
};
