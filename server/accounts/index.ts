import type { NexusModule } from "../context.ts";
import { clientAddressOf, cors, CORS_METHODS } from "../http.ts";
import { edgeAuth } from "../auth.ts";
import { accountsPlugin } from "./graphql.ts";
import { gotrueRouter } from "./gotrue.ts";
import { makeAccounts, type Accounts } from "./sessions.ts";

/**
 * Accounts and sessions (db/functions/11_sessions.sql): GraphQL register / authenticate / refreshSession / signOut,
 * and the same as GoTrue-compatible routes at /auth/v1 for supabase-js.
 */
const perPool = new WeakMap<object, Accounts>();
function accountsFor(ctx: Parameters<NonNullable<NexusModule["mount"]>>[1]): Accounts {
  let accounts = perPool.get(ctx.pool);
  if (!accounts) perPool.set(ctx.pool, (accounts = makeAccounts(ctx.config, ctx.pool)));
  return accounts;
}

export const accountsModule: NexusModule = {
  name: "accounts",
  plugins: (ctx) => [accountsPlugin(accountsFor(ctx))],
  mount(app, ctx) {
    app.use("/auth/v1", cors(ctx.config.corsOrigins, CORS_METHODS.auth), gotrueRouter(accountsFor(ctx), edgeAuth(ctx.config), ctx.log, clientAddressOf(ctx.config.trustProxy, ctx.log)));
  },
};
