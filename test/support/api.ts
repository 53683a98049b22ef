/**
 * The API in-process on a free loopback port, over the test Redis with a prefix of its own, and a
 * small client: `call(method, path, {token, body, raw, headers})` returning status, headers and JSON.
 */
import { createApi, loadApiConfig, type Api, type ApiConfig } from '../../apps/api/src';
import type { ApiDeps } from '../../apps/api/src/deps';
import { createRegistry, silentLogger } from '@devhooks/engine';
import { cleanPrefix, testRedisUrl } from './redis';

export const ROOT = 'test-root-token-0123456789';

export interface CallResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is (with `contentType`, default application/json). */
  raw?: string | Buffer;
  contentType?: string | null;
  headers?: Record<string, string>;
}

/** A small client of a running API (in-process or a real process) at `base`. */
export class Client {
  constructor(
    readonly base: string,
    readonly root = ROOT,
  ) {}

  async call<T = any>(method: string, path: string, o: CallOptions = {}): Promise<CallResult<T>> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const token = o.token === undefined ? this.root : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined && o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
    const res = await fetch(this.base + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  /** An org and an API key of `role` in it. */
  async org(name = 'acme', role: 'admin' | 'producer' | 'viewer' = 'admin'): Promise<{ id: string; key: string }> {
    const org = await this.call('POST', '/v1/orgs', { body: { name } });
    if (org.status !== 201) throw new Error(`org: ${org.status} ${org.text}`);
    const key = await this.key(org.body.id, role);
    return { id: org.body.id, key };
  }

  async key(orgId: string, role: 'admin' | 'producer' | 'viewer', name: string = role): Promise<string> {
    const k = await this.call('POST', `/v1/orgs/${orgId}/keys`, { body: { name, role } });
    if (k.status !== 201) throw new Error(`key: ${k.status} ${k.text}`);
    return k.body.key;
  }
}

export class TestApi extends Client {
  constructor(
    readonly api: Api,
    base: string,
    readonly config: ApiConfig,
  ) {
    super(base);
  }

  async close(): Promise<void> {
    await this.api.close();
    await cleanPrefix(this.config.prefix);
  }
}

/** The API in-process; `overrides` replace dependencies (e.g. a checkTarget that never asks DNS). */
export async function startTestApi(
  prefix: string,
  env: Record<string, string> = {},
  overrides: Partial<ApiDeps> = {},
): Promise<TestApi> {
  const config = loadApiConfig({
    DEVHOOKS_ADMIN_TOKEN: ROOT,
    DEVHOOKS_REDIS_URL: testRedisUrl(),
    DEVHOOKS_PREFIX: prefix,
    DEVHOOKS_PORT: '0',
    ...env,
  });
  const api = createApi(config, silentLogger(), createRegistry('api-test'), overrides);
  const port = await api.listen();
  return new TestApi(api, `http://127.0.0.1:${port}`, config);
}
