/**
 * `npm start` with DATABASE_URL, as a deployment runs it: `node main.ts` (server and worker in one process)
 * in a child process on a free loopback port, for tests of commands that talk to a running server (npm run doctor).
 */
import type { ChildProcess } from "node:child_process";
import webpush from "web-push";
import { freePort } from "../../core/net.ts";
import { spawnNode } from "./child.ts";
import { TEST_JWT_SECRET } from "./server.ts";

export interface NexusProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  output(): string;
  /** Resolves once the output contains `text` (see NodeChild.waitFor). */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `args`: `["--server"]` for `npm run start:server` (the banner is the same); none for `npm start`. */
export async function startNexusProcess(env: Record<string, string>, args: string[] = []): Promise<NexusProcess> {
  const port = await freePort();
  const nexus = spawnNode("main.ts", args, { env: { PATH: process.env.PATH, LOG_LEVEL: "info", ...env, PORT: String(port) } });
  try {
    await nexus.waitFor("GraphQL:", 60_000);
  } catch (error) {
    await nexus.stop("SIGKILL");
    throw error;
  }
  return {
    child: nexus.child,
    port,
    baseUrl: `http://${env.HOST ?? "127.0.0.1"}:${port}`,
    output: nexus.output,
    waitFor: nexus.waitFor,
    async stop() {
      await nexus.stop("SIGTERM");
    },
  };
}

/** One VAPID pair for this test process's production servers. */
const VAPID = webpush.generateVAPIDKeys();

/**
 * What a production deployment of `node main.ts --server` needs, on the test database `databaseUrl`: JWT and
 * LiveKit secrets (the LiveKit URL a dead local port: no test here reaches LiveKit), a VAPID pair and a metrics
 * token, so that production mode starts without warnings. `name` keeps each test's LiveKit key its own.
 */
export function productionEnv(databaseUrl: string, name: string): Record<string, string> {
  return {
    NODE_ENV: "production",
    // Loopback only, as a deployment behind its proxy listens: no test server is reachable from elsewhere.
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    LIVEKIT_URL: "wss://127.0.0.1:9",
    LIVEKIT_API_KEY: `API${name}`,
    LIVEKIT_API_SECRET: `${name}-livekit-secret-0123456789abcdef`,
    METRICS_TOKEN: `${name}-metrics-token`,
    NEXT_PUBLIC_VAPID_PUBLIC_KEY: VAPID.publicKey,
    VAPID_PRIVATE_KEY: VAPID.privateKey,
    VAPID_SUBJECT: "mailto:ops@nomadnexus.test",
  };
}
