/**
 * HTTP calls the way the frontend makes them: JSON bodies, `Authorization: Bearer <JWT>` when a token is given.
 * Answers are `{status, body}` (the body parsed as JSON, or the text when it is not JSON), so a test can compare
 * them whole with toEqual; the response headers ride along as a non-enumerable `headers`.
 */
export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  readonly headers: Headers;
}

export function bearer(token?: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** POST a body (sent as given: a test of malformed JSON passes a string) with the JSON content type. */
export async function postJson<T = any>(url: string, body: string, headers: Record<string, string> = {}): Promise<HttpAnswer<T>> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  const answer = { status: response.status, body: parsed as T };
  Object.defineProperty(answer, "headers", { value: response.headers, enumerable: false });
  return answer as HttpAnswer<T>;
}

/** The runbook's routes: POST /functions/v1/<name>. */
export function rest<T = any>(baseUrl: string, name: string, body: unknown, token?: string): Promise<HttpAnswer<T>> {
  return postJson<T>(`${baseUrl}/functions/v1/${name}`, JSON.stringify(body), bearer(token));
}

export function graphql<T = any>(
  baseUrl: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<HttpAnswer<{ data?: T; errors?: any[] }>> {
  return postJson(`${baseUrl}/graphql`, JSON.stringify({ query, variables }), bearer(token));
}
