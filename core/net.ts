import net from "node:net";
import { OneLineError } from "./fatal.ts";

/** A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The URL of this machine's server for a client on the same machine: HOST when it names one address (IPv6 in
 * brackets), else `wildcard` (the server listens on every address: unset, 0.0.0.0 or ::).
 */
export function localBaseUrl(host: string | undefined, port: number, wildcard: string): string {
  const named = host && !["0.0.0.0", "::"].includes(host) ? host : wildcard;
  return `http://${net.isIPv6(named) ? `[${named}]` : named}:${port}`;
}

/**
 * Refuse to start when the HTTP port is taken (another `npm start`, another service), checked the way the server
 * will listen (HOST, else every address), before anything else starts: no migration, no worker, no embedded Postgres.
 */
export function assertPortFree(port: number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") reject(new OneLineError(`port ${port} is in use: set PORT`));
      else if (error.code === "EACCES") reject(new OneLineError(`port ${port} needs privileges this process lacks: set PORT (1024 or above)`));
      else if (error.code === "EADDRNOTAVAIL") reject(new OneLineError(`HOST ${host} is not an address of this machine: set HOST`));
      else reject(error);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
