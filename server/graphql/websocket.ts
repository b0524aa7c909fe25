/**
 * GraphQL over WebSocket (graphql-ws) on /graphql: grafserv's own graphql-ws configuration (the same context,
 * validation rules, limits and error masking as HTTP) on a `ws` server of ours, because grafserv's node adaptor
 * builds its WebSocketServer with ws's defaults, which take a 100 MiB message and parse and validate it on the
 * event loop. Here a message over MAX_REQUEST_BYTES (the HTTP body limit) closes the socket with 1009 (message
 * too big) as soon as its frame header announces the size, before any of it is buffered or parsed.
 *
 * Subscriptions are limited here, before any SQL runs for them: at most SUBSCRIPTIONS_PER_SOCKET open on one
 * socket, and SUBSCRIPTIONS_PER_MEMBER for one member over all their sockets to this process (a count in this
 * process's memory: each server bounds what it holds itself). One more is refused with RATE_LIMITED; a
 * subscription counts from being accepted until it ends (complete, error, or its socket closing).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { handleProtocols, makeServer, type Context, type SubscribePayload } from "graphql-ws";
import { getOperationAST, GraphQLError, type ExecutionArgs } from "postgraphile/graphql";
import { makeGraphQLWSConfig, type GrafservBase } from "postgraphile/grafserv";
import { WebSocketServer, type WebSocket } from "ws";
import type { Config } from "../../core/config.ts";
import { memberOfSettings } from "../../core/jwt.ts";
import type { Logger } from "../../core/log.ts";
import { anonymousRequest } from "./errors.ts";
import { MAX_REQUEST_BYTES, shortMessage } from "./limits.ts";

/** A refusal of the document as HTTP answers it: BAD_REQUEST unless it has a code, its message cut past MAX_REFUSAL_MESSAGE. */
function codedRefusal(error: GraphQLError): GraphQLError {
  const code = error.extensions?.code;
  const message = shortMessage(error.message);
  if (code !== undefined && message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: code ?? "BAD_REQUEST" },
  });
}

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

/** The subscriptions one socket holds (by their subscribe message: an id may be reused once completed). */
interface SocketSubscriptions {
  held: Map<SubscribePayload, string | undefined>;
  closed: boolean;
}

/** SUBSCRIPTIONS_PER_SOCKET and SUBSCRIPTIONS_PER_MEMBER, counted in this process. */
function subscriptionLimits(limits: Config["subscriptions"]) {
  const sockets = new WeakMap<Context, SocketSubscriptions>();
  const perMember = new Map<string, number>();
  const of = (ctx: Context) => {
    let socket = sockets.get(ctx);
    if (!socket) sockets.set(ctx, (socket = { held: new Map(), closed: false }));
    return socket;
  };
  const refuse = (message: string) => [new GraphQLError(message, { extensions: { code: "RATE_LIMITED" } })];
  const release = (socket: SocketSubscriptions, payload: SubscribePayload) => {
    if (!socket.held.has(payload)) return;
    const member = socket.held.get(payload);
    socket.held.delete(payload);
    if (member === undefined) return;
    const left = (perMember.get(member) ?? 1) - 1;
    if (left > 0) perMember.set(member, left);
    else perMember.delete(member);
  };
  return {
    /** A refusal for a subscription past a limit, or nothing (then it is counted until released). */
    admit(ctx: Context, payload: SubscribePayload, args: ExecutionArgs): GraphQLError[] | undefined {
      if (getOperationAST(args.document, args.operationName)?.operation !== "subscription") return undefined;
      const socket = of(ctx);
      if (socket.closed) return refuse("this connection is closed");
      if (socket.held.size >= limits.perSocket) {
        return refuse(`at most ${limits.perSocket} subscriptions may be open on one connection: complete one first`);
      }
      const member = memberOfSettings((args.contextValue as { pgSettings?: Record<string, string> } | undefined)?.pgSettings);
      if (member !== undefined && (perMember.get(member) ?? 0) >= limits.perMember) {
        return refuse(`at most ${limits.perMember} subscriptions may be open for one member: complete one first`);
      }
      socket.held.set(payload, member);
      if (member !== undefined) perMember.set(member, (perMember.get(member) ?? 0) + 1);
      return undefined;
    },
    completed(ctx: Context, payload: SubscribePayload): void {
      release(of(ctx), payload);
    },
    closed(ctx: Context): void {
      const socket = of(ctx);
      socket.closed = true;
      for (const payload of [...socket.held.keys()]) release(socket, payload);
    },
  };
}

/**
 * Bytes a connection may have waiting to be written (ws's bufferedAmount, beyond what the kernel took) before a
 * message: past it the client is not taking its messages and the connection is ended. An answer is at most a few
 * hundred KB (introspection at twice the standard query's, a page of 1000 rows), so a reading client never gets
 * near it.
 */
export const MAX_WEBSOCKET_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * A client that stops reading is cut off, however its answers pile up: a message the connection has not taken
 * within `sendTimeoutMs` (REQUEST_TIMEOUT_MS: one operation's answers wait for each other in graphql-ws), or more
 * than MAX_WEBSOCKET_BUFFERED_BYTES waiting at once (many operations at a time, each with its own answer), ends the
 * connection and its operations. Without that, whatever was meant for a client that never reads stayed in memory.
 */
export function graphqlWebSocket(serv: GrafservBase, log: Logger, limits: Config["subscriptions"], sendTimeoutMs: number): GraphqlWebSocket {
  const options = makeGraphQLWSConfig(serv);
  const subscriptions = subscriptionLimits(limits);
  const graphqlWs = makeServer({
    ...options,
    async onSubscribe(ctx, id, payload) {
      const args = await options.onSubscribe?.(ctx, id, payload);
      // Refused before it ran (a syntax error, a field that does not exist, a limit): coded and with a message of
      // a sane length, as refusedResponse (limits.ts) makes them on HTTP.
      if (Array.isArray(args)) return args.map(codedRefusal);
      if (!args) return args;
      return subscriptions.admit(ctx, payload, args as ExecutionArgs) ?? (args as ExecutionArgs);
    },
    // grafserv masks each result's errors here; as on HTTP (edge.ts), an anon caller's refusal by the grants is
    // UNAUTHENTICATED.
    onNext: (ctx, id, payload, args, result) =>
      anonymousRequest.run((args.contextValue as { pgSettings?: Record<string, string> } | undefined)?.pgSettings?.role === "anon", () =>
        options.onNext?.(ctx, id, payload, args, result),
      ),
    onComplete: (ctx, _id, payload) => subscriptions.completed(ctx, payload),
    onClose: (ctx) => subscriptions.closed(ctx),
  });
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
          new Promise<void>((resolve) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            const notTaking = (why: string) => {
              log.info({ address: request.socket.remoteAddress, why, bufferedBytes: socket.bufferedAmount }, "GraphQL WebSocket closed: the client is not taking its messages");
              socket.terminate();
              // Closed: nothing more goes out on it, and its operations end (graphql-ws's closed()).
              resolve();
            };
            if (socket.bufferedAmount + data.length > MAX_WEBSOCKET_BUFFERED_BYTES) return notTaking(`more than ${MAX_WEBSOCKET_BUFFERED_BYTES} bytes waiting`);
            const stalled = setTimeout(() => notTaking(`a message not taken within REQUEST_TIMEOUT_MS (${sendTimeoutMs} ms)`), sendTimeoutMs);
            socket.send(data, (error) => {
              clearTimeout(stalled);
              // A write fails only when the connection is gone (the client left, or was ended above): its close
              // ends its operations; that is no fault of the message's.
              if (error) log.debug({ err: error }, "GraphQL WebSocket message not delivered: the connection is gone");
              resolve();
            });
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
