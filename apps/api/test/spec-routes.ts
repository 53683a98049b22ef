/**
 * The API's operations as the OpenAPI document lists them, and a raw HTTP client that sends a path
 * exactly as given (fetch would normalise `/./` and `..`): shared by the path-variant sweep and the
 * fuzz suite (not a test file).
 */
import http from 'node:http';
import { openApiDocument } from '../src/openapi/document';

export interface Operation {
  method: string;
  /** The OpenAPI template, e.g. `/v1/webhooks/{id}`. */
  template: string;
  /** Whether the operation asks for a bearer token (every `/v1` one). */
  secured: boolean;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

export function specOperations(): Operation[] {
  const spec = openApiDocument() as unknown as { paths: Record<string, Record<string, unknown>> };
  const out: Operation[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const m of METHODS) {
      if (item[m]) out.push({ method: m.toUpperCase(), template, secured: template.startsWith('/v1') });
    }
  }
  return out;
}

/** The template with each `{param}` replaced by `values[param]` (or `fallback`). */
export function fillPath(template: string, values: Record<string, string>, fallback = 'none'): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? fallback));
}

export interface RawResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The client gives up (and the promise rejects) after this long. */
  timeoutMs?: number;
}

/** One request with the path sent byte for byte as given. */
export function rawCall(port: number, r: RawRequest): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
    const req = http.request(
      { host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(r.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`no answer to ${r.method} ${r.path} within ${r.timeoutMs ?? 10_000} ms`)),
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Whether a response carries the contract's error shape `{"error": {"code", "message", "details"?}}`. */
export function hasErrorShape(r: RawResult): boolean {
  const e = r.json?.error;
  return (
    /^application\/json/.test(String(r.headers['content-type'] ?? '')) &&
    !!e &&
    Object.keys(r.json).length === 1 &&
    typeof e.code === 'string' &&
    typeof e.message === 'string' &&
    e.message.length > 0 &&
    (e.details === undefined || Array.isArray(e.details))
  );
}
