/**
 * got vs undici for outgoing webhook POSTs (docs/decisions/0001-undici-not-got.md):
 * requests/s of each, 50 concurrent, keep-alive, a ~200-byte JSON body, to the loopback receiver
 * (bench/receiver.mjs, its own process). One warm-up second, then ~5 s measured per client.
 *
 *   node bench/http-clients.mjs [--seconds=5] [--rounds=1]
 *
 * Prints a small table on stdout and writes bench/results/http-clients.json.
 */
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { BENCH_DIR, ROOT_DIR, Receiver, hookExit, log, now } from './lib.mjs';

const versionOf = (pkg) => {
  try {
    return JSON.parse(readFileSync(path.join(ROOT_DIR, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

const { default: got } = await import('got'); // got 14 is ESM-only

const arg = (name, d) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);
const SECONDS = arg('seconds', 5);
const ROUNDS = arg('rounds', 1);
const CONCURRENCY = 50;

const BODY = JSON.stringify({
  id: '5f3c2b1a-9d8e-4f7a-b6c5-d4e3f2a1b0c9',
  type: 'device-status-changed',
  data: { id: '5f00a0010000000000000000', status: 'accepted', created_ts: '2026-11-25T01:00:00.000Z' },
  time: '2026-11-25T01:00:00.123Z',
});

hookExit();
const receiver = await Receiver.start();
const url = `${receiver.origin}/clients`;

/** got as one would use it: a keep-alive agent with 50 sockets, no retries. */
const gotAgent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const gotClient = got.extend({ agent: { http: gotAgent }, retry: { limit: 0 }, timeout: { request: 15_000 } });
const postWithGot = async () => {
  const res = await gotClient.post(url, { body: BODY, headers: { 'content-type': 'application/json' } });
  return res.statusCode;
};

/** undici as the Sender uses it (packages/engine/src/delivery/sender.ts): an Agent, 50 connections per origin. */
const undiciAgent = new Agent({ connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 30_000 });
const postWithUndici = async () => {
  const res = await undiciAgent.request({
    origin: receiver.origin,
    path: '/clients',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
  });
  await res.body.dump();
  return res.statusCode;
};

async function measure(post, seconds) {
  let ok = 0;
  let bad = 0;
  const start = now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (now() < end) {
        try {
          if ((await post()) === 200) ok++;
          else bad++;
        } catch {
          bad++;
        }
      }
    }),
  );
  const s = (now() - start) / 1000;
  return { rps: ok / s, requests: ok, errors: bad, seconds: s };
}

const results = { got: [], undici: [] };
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, post] of [
      ['got', postWithGot],
      ['undici', postWithUndici],
    ]) {
      await measure(post, 1); // warm-up: sockets, JIT
      await receiver.reset();
      const r = await measure(post, SECONDS);
      const st = await receiver.stats();
      results[name].push({ ...r, receiver_count: st.count });
      log(
        `${name}: ${Math.round(r.rps)} req/s (${r.requests} in ${r.seconds.toFixed(2)} s, ${r.errors} errors; receiver saw ${st.count})`,
      );
    }
  }
} finally {
  await undiciAgent.close().catch(() => undefined);
  gotAgent.destroy();
  await receiver.stop();
}

const best = (xs) => Math.max(...xs.map((x) => x.rps));
const gotRps = best(results.got);
const undiciRps = best(results.undici);
const out = {
  timestamp: new Date().toISOString(),
  node: process.version,
  cpu_model: os.cpus()[0]?.model ?? 'unknown',
  cpu_count: os.cpus().length,
  got_version: versionOf('got'),
  undici_version: versionOf('undici'),
  concurrency: CONCURRENCY,
  body_bytes: Buffer.byteLength(BODY),
  seconds_each: SECONDS,
  got_rps: Math.round(gotRps),
  undici_rps: Math.round(undiciRps),
  undici_vs_got: Math.round((undiciRps / gotRps) * 100) / 100,
  runs: results,
};
mkdirSync(path.join(BENCH_DIR, 'results'), { recursive: true });
writeFileSync(path.join(BENCH_DIR, 'results', 'http-clients.json'), JSON.stringify(out, null, 2) + '\n');
process.stdout.write(
  `http clients — ${out.timestamp} — ${out.node} — ${out.cpu_model} × ${out.cpu_count}\n` +
    `POST ${out.body_bytes}-byte JSON, ${CONCURRENCY} concurrent, keep-alive, ${SECONDS} s each, loopback receiver in its own process\n` +
    `| client | requests/s |\n|--------|-----------:|\n` +
    `| got ${out.got_version} | ${out.got_rps.toLocaleString('en-US')} |\n` +
    `| undici ${out.undici_version} | ${out.undici_rps.toLocaleString('en-US')} |\n` +
    `undici / got = ${out.undici_vs_got} ×\n`,
);
