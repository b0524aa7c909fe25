/**
 * The capability modules (their shape is NexusModule in context.ts). app.ts reads this list; adding a capability
 * is one line here. Each folder has the same shape: index.ts (the module), graphql.ts (plugins), rest.ts (HTTP
 * routes), metrics.ts (gauges), each where there is something, plus the capability's own helpers (tokens.ts…).
 */
import type { NexusModule } from "./context.ts";
import { accountsModule } from "./accounts/index.ts";
import { academyModule } from "./academy/index.ts";
import { flaresModule } from "./flares/index.ts";
import { opsModule } from "./ops/index.ts";
import { presenceModule } from "./presence/index.ts";
import { pushModule } from "./push/index.ts";
import { voiceModule } from "./voice/index.ts";

export const modules: NexusModule[] = [accountsModule, presenceModule, opsModule, voiceModule, pushModule, flaresModule, academyModule];
