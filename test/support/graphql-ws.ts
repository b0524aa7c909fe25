/**
 * One GraphQL operation over graphql-ws (the `ws` client), on a socket of its own whose upgrade request carries
 * `headers` (a proxy's X-Forwarded-For, say): the answer as `{data, errors}`, errors the server sent included.
 */
import { createClient } from "graphql-ws";
import WebSocket from "ws";

export async function graphqlOverWs(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ data?: any; errors?: any[] }> {
  const WithHeaders = class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };
  const ws = createClient({ url: `${baseUrl.replace("http", "ws")}/graphql`, webSocketImpl: WithHeaders, retryAttempts: 0, lazy: true });
  try {
    return await new Promise((resolve, reject) => {
      let value: { data?: any; errors?: any[] } = {};
      ws.subscribe(
        { query, variables },
        { next: (v) => (value = v as typeof value), error: (e) => (Array.isArray(e) ? resolve({ errors: e }) : reject(e)), complete: () => resolve(value) },
      );
    });
  } finally {
    await ws.dispose();
  }
}
