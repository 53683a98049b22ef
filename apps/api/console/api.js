// The console's API client: same-origin fetch with the session's key, by the route names of
// @devhooks/client (its route table, served by the API as client.js: one definition of every path
// and method). A 401 means the key was revoked (or mistyped): the console signs out.
import { fillPath, ROUTES } from './client.js';

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = e.code ?? 'http_error';
    this.details = e.details ?? [];
  }
}

export function createApi(key, onUnauthorized) {
  /** call('getWebhook', {params: {id}, query, body}): the parsed answer, or throws an ApiError. */
  async function call(route, { params = {}, query, body } = {}) {
    const [method, template] = ROUTES[route].split(' ');
    let url = fillPath(template, params);
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const headers = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const send = () =>
      fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    let res = await send();
    // the delivery log's reads are bounded per key and per process (429 / 503 with Retry-After):
    // a read is asked again shortly, a few times
    for (let tries = 0; method === 'GET' && (res.status === 429 || res.status === 503) && tries < 4; tries++) {
      const wait = Math.min(2, Number(res.headers.get('retry-after')) || 1);
      await new Promise((r) => setTimeout(r, wait * 1000 * (0.5 + Math.random() / 2)));
      res = await send();
    }
    const text = await res.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.status === 401) onUnauthorized?.();
    if (!res.ok) throw new ApiError(res.status, parsed);
    return parsed;
  }
  return { call };
}
