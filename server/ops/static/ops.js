/*
 * The /ops page: sign in through the GraphQL `authenticate` mutation, then poll one GraphQL document made of the
 * panels' selections (panels.js) every POLL_MS with the operator's JWT. The database decides who may see what:
 * a member below FOUNDER gets INSUFFICIENT_CLEARANCE from the SQL functions and the page signs them out again.
 *
 * Everything shown comes from the API and may carry text a member chose (payloads, errors, callsigns), so the
 * page builds DOM nodes and sets textContent only; it never assigns HTML strings.
 *
 * The access JWT is short (JWT_TTL); the page exchanges its refresh token (`refreshSession`) for the next one
 * before it runs out, so a dashboard left open stays signed in. The session itself still ends as the server
 * decides: a revoked session's access token is anon at once, so the next poll (or refresh) is refused and the
 * page signs out; an expired one fails its refresh. Signing out ends the session
 * on the server too (`signOut`).
 */
import { panels } from "/ops/panels.js";

const POLL_MS = 1500;
const FULL_REDRAW_MS = 5000;
const SESSION_KEY = "nexus.ops.session"; // { jwtToken, refreshToken, expiresAt, issuedAt }
/* Refresh when less than this share of the access token's life is left (or a minute, whichever is less). */
const REFRESH_SHARE = 0.5;
const REFRESH_LEAD_MS = 60_000;
const SESSION_FIELDS = "jwtToken refreshToken expiresAt";

const $ = (id) => document.getElementById(id);
const form = $("sign-in");
const formError = $("sign-in-error");
const panelsRoot = $("panels");
const statusLine = $("status");
const signOutButton = $("sign-out");

let grant = readGrant(); // the signed-in session, or null
let refreshing; // the refresh in flight, shared by every caller
let session = 0; // bumped on sign-out so a poll in flight from the old session is ignored
let pollTimer;

class GraphQLRequestError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

function readGrant() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    return stored && typeof stored.jwtToken === "string" && typeof stored.refreshToken === "string" ? stored : null;
  } catch {
    return null;
  }
}

/* A session's answer (authenticate or refreshSession): keep its access token and what renews it. */
function keepGrant(answer) {
  grant = { jwtToken: answer.jwtToken, refreshToken: answer.refreshToken, expiresAt: answer.expiresAt, issuedAt: Date.now() };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(grant));
}

function refreshDue() {
  if (!grant?.expiresAt) return false;
  const expiresAt = new Date(grant.expiresAt).getTime();
  const life = Math.max(0, expiresAt - (grant.issuedAt ?? expiresAt));
  return expiresAt - Date.now() < Math.min(REFRESH_LEAD_MS, life * REFRESH_SHARE);
}

/* The next access token from the refresh token, once however many callers ask. */
function refresh() {
  refreshing ??= (async () => {
    try {
      if (!grant) throw new GraphQLRequestError("the session has no refresh token", "UNAUTHENTICATED");
      const body = await graphql(
        `mutation Refresh($input: RefreshSessionInput!) { refreshSession(input: $input) { ${SESSION_FIELDS} } }`,
        { input: { refreshToken: grant.refreshToken } },
        { auth: false, renew: false },
      );
      const answer = body.data?.refreshSession;
      // A refused refresh (revoked, expired, reused) signs the page out; anything else is retried with the poll.
      if (!answer?.jwtToken) throw new GraphQLRequestError(body.errors?.[0]?.message ?? "the session ended", body.errors?.[0]?.extensions?.code ?? "UNAVAILABLE");
      keepGrant(answer);
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

async function graphql(query, variables = {}, { auth = true, renew = true } = {}) {
  if (auth && renew && grant && refreshDue()) await refresh();
  const response = await send(query, variables, auth);
  // An access token refused (expired while the page slept, say): one refresh, then the request once more.
  if (response.status === 401 && auth && renew && grant) {
    await refresh();
    return answerOf(await send(query, variables, auth));
  }
  return answerOf(response);
}

function send(query, variables, auth) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (auth && grant) headers.authorization = `Bearer ${grant.jwtToken}`;
  return fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(8000),
  });
}

async function answerOf(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLRequestError(`the server answered ${response.status}`, "UNAVAILABLE");
  }
  if (response.status === 401) {
    throw new GraphQLRequestError(body.errors?.[0]?.message ?? "sign in again", "UNAUTHENTICATED");
  }
  return body;
}

/* A tiny DOM builder: el("td", { className: "num" }, "3"). Strings become text nodes, never markup. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "—";
}

function ago(iso) {
  if (!iso) return "—";
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/*
 * A table that reads as labelled cards on a phone (ops.css): each cell carries its column name. `compact` tables
 * (a few short columns) stay tables on a phone.
 */
function table(columns, rows, rowKey, { compact = false } = {}) {
  return el(
    "table",
    { className: compact ? "compact" : "" },
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { className: c.className ?? "" }, c.label)))),
    el(
      "tbody",
      {},
      rows.map((row) =>
        el(
          "tr",
          { dataset: rowKey ? { key: String(rowKey(row)) } : {} },
          columns.map((c) => {
            const cell = c.cell(row);
            const extra = typeof c.cellClass === "function" ? c.cellClass(row) : "";
            return el("td", { className: [c.className, extra].filter(Boolean).join(" "), dataset: { label: c.label } }, cell);
          }),
        ),
      ),
    ),
  );
}

/* What a panel's render() gets: builders, formatting, and a way to run a mutation then refresh at once. */
function toolsFor(panel) {
  return {
    el,
    table,
    clock,
    ago,
    state: panel.state,
    async mutate(query, variables) {
      const body = await graphql(query, variables);
      if (body.errors?.length) throw new GraphQLRequestError(body.errors[0].message, body.errors[0].extensions?.code);
      await poll();
      return body.data;
    },
  };
}

function showSignIn(message = "") {
  panelsRoot.hidden = true;
  panelsRoot.replaceChildren();
  signOutButton.hidden = true;
  form.hidden = false;
  formError.textContent = message;
  statusLine.textContent = "";
  statusLine.className = "status";
}

function signOut(message, { endSession = false } = {}) {
  // Pressing "Sign out" ends the session on the server as well (best effort: the page forgets it either way).
  if (endSession && grant) {
    void send(`mutation SignOut { signOut(input: { scope: "local" }) { revoked } }`, {}, true).catch(() => {});
  }
  session++;
  clearTimeout(pollTimer);
  grant = null;
  sessionStorage.removeItem(SESSION_KEY);
  showSignIn(message);
}

let active = [];

async function start() {
  const mySession = ++session;
  form.hidden = true;
  formError.textContent = "";
  statusLine.textContent = "connecting…";
  signOutButton.hidden = false;
  // Panels whose GraphQL field this server does not have yet (a capability not deployed) are left out.
  let fields;
  try {
    const body = await graphql(`{ __type(name: "Query") { fields { name } } }`);
    fields = new Set((body.data?.__type?.fields ?? []).map((f) => f.name));
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") return signOut(`Signed out: ${error.message}.`);
    fields = new Set(panels.map((p) => p.field));
  }
  if (mySession !== session) return;
  active = panels.filter((p) => fields.has(p.field));
  for (const panel of active) {
    panel.state ??= {};
    panel.body = el("div", { className: "panel-body" });
    panel.counter = el("span", { className: "count" });
    panel.root = el("section", { className: "card panel", id: `panel-${panel.id}` }, el("h2", {}, panel.title, panel.counter), panel.body);
    panel.lastJson = undefined;
    panel.lastDrawn = 0;
  }
  panelsRoot.replaceChildren(...active.map((p) => p.root));
  await poll();
}

let pollSeq = 0;
let drawnSeq = 0;

async function poll() {
  const mySession = session;
  const seq = ++pollSeq;
  clearTimeout(pollTimer);
  if (!grant || active.length === 0) return;
  const queryText = `query OpsPage { ${active.map((p) => p.selection).join("\n")} }`;
  try {
    const body = await graphql(queryText);
    // A retry or discard polls at once; an older poll still in flight must not draw over its answer.
    if (mySession !== session || seq < drawnSeq) return;
    drawnSeq = seq;
    const errors = body.errors ?? [];
    const refusal = errors.find((e) => e.extensions?.code === "INSUFFICIENT_CLEARANCE" || e.extensions?.code === "UNAUTHENTICATED");
    if (refusal) {
      // A session ended on the server (signed out elsewhere, revoked) makes its access token anon at once, which
      // is refused like a rank below FOUNDER: its refresh then fails (caught below: "Signed out").
      await refresh();
      return signOut(`Refused: ${refusal.message}.`);
    }
    if (errors.length && !body.data) throw new GraphQLRequestError(errors[0].message, errors[0].extensions?.code);
    panelsRoot.hidden = false;
    for (const panel of active) draw(panel, body.data?.[panel.field], errors.find((e) => e.path?.[0] === panel.field));
    statusLine.textContent = `live · updated ${clock(new Date().toISOString())}`;
    statusLine.className = "status live";
  } catch (error) {
    if (mySession !== session) return;
    if (error.code === "UNAUTHENTICATED") return signOut(`Signed out: ${error.message}.`);
    statusLine.textContent = `connection problem (${error.message}); retrying`;
    statusLine.className = "status stale";
  } finally {
    if (mySession === session) {
      clearTimeout(pollTimer);
      pollTimer = setTimeout(poll, POLL_MS);
    }
  }
}

function draw(panel, data, error) {
  if (error) {
    panel.body.replaceChildren(el("p", { className: "error" }, error.message));
    panel.lastJson = undefined;
    return;
  }
  const json = JSON.stringify(data);
  // Redraw when the data changed, and every few seconds for the "… ago" texts; open details and half-confirmed
  // buttons survive a redraw through panel.state.
  if (json === panel.lastJson && Date.now() - panel.lastDrawn < FULL_REDRAW_MS) return;
  panel.lastJson = json;
  panel.lastDrawn = Date.now();
  const nodes = data?.nodes ?? [];
  panel.counter.textContent = panel.count ? panel.count(nodes, data) : String(nodes.length);
  panel.body.replaceChildren(nodes.length ? panel.render(nodes, toolsFor(panel)) : el("p", { className: "empty" }, panel.empty));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const button = form.querySelector("button");
  button.disabled = true;
  formError.textContent = "";
  try {
    const body = await graphql(
      `mutation SignIn($input: AuthenticateInput!) { authenticate(input: $input) { ${SESSION_FIELDS} } }`,
      { input: { email: String(data.get("email")), password: String(data.get("password")) } },
      { auth: false },
    );
    const answer = body.data?.authenticate;
    if (!answer?.jwtToken) throw new GraphQLRequestError(body.errors?.[0]?.message ?? "sign-in failed", body.errors?.[0]?.extensions?.code);
    keepGrant(answer);
    form.reset();
    await start();
  } catch (error) {
    formError.textContent = `Sign-in failed: ${error.message}.`;
  } finally {
    button.disabled = false;
  }
});

signOutButton.addEventListener("click", () => signOut("", { endSession: true }));

if (grant) start();
else showSignIn();
