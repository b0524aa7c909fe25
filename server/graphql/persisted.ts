/**
 * PERSISTED_OPERATIONS_DIR: the operations the server will run, read once at start-up into a Map, and how a
 * request names one. Given to @grafserv/persisted as its getter and hashFromPayload, so that a request naming no
 * stored operation is refused (400) without the plugin's own failure path, which writes the whole request and a
 * stack trace to stderr with console.error: from anonymous requests, unstructured and unbounded. A Map, not an
 * object, so `documentId: "constructor"` names nothing.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "../../core/log.ts";

/** `<name>.graphql`, the name as Apollo's sha256Hash or Relay's documentId sends it. */
const FILE = /^([A-Za-z0-9_-]{1,128})\.graphql$/;

export interface PersistedOperations {
  /** Typed as the plugin declares it; it answers 400 for the null of an unknown name (dist/index.js, processGraphQLRequestBody). */
  persistedOperationsGetter(hash: string): string;
  hashFromPayload(request: { extensions?: unknown; documentId?: unknown }): string;
}

export function loadPersistedOperations(directory: string, log: Logger): PersistedOperations {
  const operations = new Map<string, string>();
  for (const file of readdirSync(directory)) {
    const name = FILE.exec(file)?.[1];
    if (name) operations.set(name, readFileSync(path.join(directory, file), "utf8"));
  }
  if (operations.size === 0) log.warn({ directory }, "PERSISTED_OPERATIONS_DIR holds no <hash>.graphql file: every GraphQL request will be refused");
  else log.info({ directory, operations: operations.size }, "persisted operations loaded; any other GraphQL document is refused");
  return {
    persistedOperationsGetter: (hash) => operations.get(hash) ?? (null as unknown as string),
    // Always a string: "" names nothing, and the plugin answers 400 for it.
    hashFromPayload(request) {
      const hash = (request.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
      if (typeof hash === "string") return hash;
      return typeof request.documentId === "string" ? request.documentId : "";
    },
  };
}
