/**
 * GraphQL over WebSocket (graphql-ws) on /graphql: grafserv's own graphql-ws configuration (the same context,
 * validation rules, limits and error masking as HTTP) on a `ws` server of ours, because grafserv's node adaptor
 * builds its WebSocketServer with ws's defaults, which take a 100 MiB message and parse and validate it on the
 * event loop. Here a message over MAX_REQUEST_BYTES (the HTTP body limit) closes the socket with 1009 (message
 * too big) as soon as its frame header announces the size, before any of it is buffered or parsed.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { handleProtocols, makeServer } from "graphql-ws";
import { makeGraphQLWSConfig, type GrafservBase } from "postgraphile/grafserv";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "../../core/log.ts";
import { MAX_REQUEST_BYTES } from "./limits.ts";

/** grafserv's default: a ping every 12 s, and a socket that has not answered the last one by the next is ended. */
const DEFAULT_KEEPALIVE_MS = 12_000;

export interface GraphqlWebSocket {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

/** Ping every `intervalMs`; a socket that has not answered the previous ping by then is dead (its peer vanished). */
function keepAlive(socket: WebSocket, intervalMs: number): void {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) return;
  let answered = true;
  socket.on("pong", () => (answered = true));
  const timer = setInterval(() => {
    if (!answered) return void socket.terminate();
    answered = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  socket.once("close", () => clearInterval(timer));
}

export function graphqlWebSocket(serv: GrafservBase, log: Logger): GraphqlWebSocket {
  const graphqlWs = makeServer(makeGraphQLWSConfig(serv));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES, handleProtocols });
  const keepAliveMs = serv.resolvedPreset.grafserv?.websocketKeepalive ?? DEFAULT_KEEPALIVE_MS;

  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    // ws closes the socket itself (1009 for an oversize message, 1002 for a protocol error) and then reports it here.
    socket.on("error", (error) => log.debug({ err: error }, "GraphQL WebSocket closed on a client error"));
    keepAlive(socket, keepAliveMs);
    const closed = graphqlWs.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on("message", async (data) => {
            try {
              // Waits for the operation: a query's result, a subscription's end.
              await handle(String(data));
            } catch (error) {
              log.error({ err: error }, "GraphQL WebSocket message failed");
              socket.close(1011, "Internal server error");
            }
          }),
      },
      { socket, request },
    );
    socket.once("close", (code, reason) => void closed(code, String(reason)));
  });

  return {
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    },
    /** After the drain (app.ts), which has sent every socket a close 1012: what is still open is cut off. */
    close() {
      for (const socket of wss.clients) socket.terminate();
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
