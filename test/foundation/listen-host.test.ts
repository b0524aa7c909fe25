/**
 * HOST: the production server listens on that address only. 127.0.0.2 is a loopback address of its own on Linux
 * (all of 127.0.0.0/8 is), so a server on it must answer there and refuse connections to 127.0.0.1.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { runNode } from "../support/child.ts";
import { productionEnv } from "../support/nexus-process.ts";
import { useProductionServer } from "../support/production-server.ts";

const app = useProductionServer("host", { HOST: "127.0.0.2" });

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(3000, () => (socket.destroy(), resolve(false)));
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

describe("HOST", () => {
  it("binds the API to that address alone, and says so in its log line and banner", async () => {
    const health = await fetch(`${app.nexus.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(app.nexus.baseUrl).toBe(`http://127.0.0.2:${app.nexus.port}`);
    expect(await connects("127.0.0.1", app.nexus.port), "nothing listens on 127.0.0.1").toBe(false);
    expect(app.nexus.output()).toContain(`"host":"127.0.0.2"`);
    expect(app.nexus.output()).toContain(`GraphQL:   http://127.0.0.2:${app.nexus.port}/graphql`);
  });

  it("is where npm run doctor looks for the server when NEXUS_URL is unset", async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...productionEnv(app.db.url, "host"), HOST: "127.0.0.2", PORT: String(app.nexus.port) };
    const { output } = await runNode("cli/doctor.ts", [], { env });
    expect(output).toContain(`server http://127.0.0.2:${app.nexus.port},`);
    expect(output).toMatch(/PASS {2}GET \/healthz/);
  }, 60_000);
});
