/**
 * A GraphQL response that is nothing but RATE_LIMITED refusals (every error RATE_LIMITED, no field with data)
 * leaves as HTTP 429 with Retry-After, like the same refusal on /auth/v1 and /functions/v1, so a client or proxy
 * that only looks at the status backs off too. Anything with data in it stays 200: GraphQL's partial results.
 */
type Payload = { data?: Record<string, unknown> | null; errors?: readonly { extensions?: Record<string, unknown> }[] };

function rateLimitedOnly(payload: Payload): number | undefined {
  const errors = payload.errors;
  if (!errors?.length || !errors.every((e) => e.extensions?.code === "RATE_LIMITED")) return undefined;
  if (payload.data && Object.values(payload.data).some((value) => value !== null)) return undefined;
  return Math.max(1, ...errors.map((e) => Number(e.extensions?.retryAfter) || 1));
}

export const RateLimitedStatusPlugin: GraphileConfig.Plugin = {
  name: "NexusRateLimitedStatusPlugin",
  version: "1.0.0",
  grafserv: {
    middleware: {
      async processRequest(next) {
        const result = await next();
        if (!result || result.statusCode !== 200) return result;
        let payload: Payload | undefined;
        if (result.type === "json") payload = result.json as Payload;
        // grafast writes most answers as a JSON buffer: one without the code in it cannot be a refusal, and is
        // not parsed again (that cost every GraphQL answer a JSON.parse of itself).
        else if (result.type === "buffer" && result.buffer.includes("RATE_LIMITED") && /json/.test(String(result.headers["content-type"] ?? ""))) {
          try {
            payload = JSON.parse(result.buffer.toString("utf8")) as Payload;
          } catch {
            return result;
          }
        }
        const retryAfter = payload && rateLimitedOnly(payload);
        if (retryAfter === undefined) return result;
        return { ...result, statusCode: 429, headers: { ...result.headers, "retry-after": String(retryAfter) } };
      },
    },
  },
};
