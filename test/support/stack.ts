/** API + worker in-process + a loopback receiver + an org with an admin key: the usual test stack. */
import { startTestApi, type TestApi } from './api';
import { Receiver } from './receiver';
import { testPrefix, testRedis } from './redis';
import { startTestWorker } from './worker';
import type { WorkerHost } from '../../apps/worker/src';
import type Redis from 'ioredis';
import { redisKeys, type Keys } from '@devhooks/core';

export interface Stack {
  prefix: string;
  keys: Keys;
  api: TestApi;
  worker: WorkerHost;
  rx: Receiver;
  org: { id: string; key: string };
  redis: Redis;
  /** Creates a webhook (admin key), returns its read view plus `secret` when generated. */
  webhook(body: Record<string, unknown>): Promise<any>;
  /** Posts events (admin key); throws unless 202. */
  send(body: unknown): Promise<{ accepted: number; duplicates: number; ids: string[] }>;
  restartWorker(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(
  file: string,
  o: { api?: Record<string, string>; worker?: Record<string, string> } = {},
): Promise<Stack> {
  const prefix = testPrefix(file);
  const api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true', ...(o.api ?? {}) });
  let worker = await startTestWorker(prefix, o.worker ?? {});
  const rx = await Receiver.start();
  const org = await api.org('acme', 'admin');
  const redis = testRedis();
  const s: Stack = {
    prefix,
    keys: redisKeys(prefix),
    api,
    get worker() {
      return worker;
    },
    rx,
    org,
    redis,
    async webhook(body) {
      const r = await api.call('POST', '/v1/webhooks', { token: org.key, body: { name: 'w', url: rx.url(), ...body } });
      if (r.status !== 201) throw new Error(`webhook: ${r.status} ${r.text}`);
      return r.body;
    },
    async send(body) {
      const r = await api.call('POST', '/v1/events', { token: org.key, body });
      if (r.status !== 202) throw new Error(`events: ${r.status} ${r.text}`);
      return r.body;
    },
    async restartWorker(env = {}) {
      await worker.stop();
      worker = await startTestWorker(prefix, { ...(o.worker ?? {}), ...env });
    },
    async close() {
      await worker.stop();
      await rx.close();
      redis.disconnect();
      await api.close();
    },
  };
  return s;
}
