/**
 * The worker alone: preloads N events (one matching webhook each, on the loopback receiver) with
 * no worker running, then starts one worker and measures how fast it drains them and how much CPU
 * it spends per delivery. For profiling the delivery path without the API competing for CPU.
 *
 *   node bench/drain.mjs [--events=50000] [--hooks=1] [--node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"]
 *                        [--worker-env=DEVHOOKS_MAX_IN_PROGRESS=1000,...]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { Proc, REDIS_URL, Receiver, deleteKeys, freePort, hookExit, log, now, redisOrExit, sleep } from './lib.mjs';

const arg = (name, dflt) =>
  process.argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=') ?? dflt;
const N = Number(arg('events', 50_000));
const HOOKS = Number(arg('hooks', 1));
const NODE_ARGS = arg('node-args', '').split(' ').filter(Boolean);
const PREFIX = `bench-${randomBytes(4).toString('hex')}`;
const TOKEN = randomBytes(16).toString('hex');

const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 10 ms
};

const redis = await redisOrExit();
hookExit();
const receiver = await Receiver.start();
const env = {
  PATH: process.env.PATH ?? '',
  DEVHOOKS_REDIS_URL: REDIS_URL,
  DEVHOOKS_PREFIX: PREFIX,
  DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  DEVHOOKS_ADMIN_TOKEN: TOKEN,
  DEVHOOKS_MAX_BACKLOG: '0',
};
const port = await freePort();
const api = new Proc('api', 'apps/api/dist/main.js', { ...env, DEVHOOKS_PORT: String(port) });
await api.waitForOutput('api listening');
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
const call = async (path, body, token) => {
  const r = await pool.request({
    method: 'POST',
    path,
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  });
  const text = await r.body.text();
  if (r.statusCode >= 300) throw new Error(`${path}: ${r.statusCode} ${text}`);
  return JSON.parse(text);
};
try {
  const org = await call('/v1/orgs', { name: 'drain' }, TOKEN);
  const { key } = await call(`/v1/orgs/${org.id}/keys`, { name: 'k', role: 'admin' }, TOKEN);
  for (let h = 0; h < HOOKS; h++)
    await call('/v1/webhooks', { name: `h${h}`, url: `${receiver.origin}/drain`, topics: ['deviceauth'] }, key);
  const events = Array.from({ length: 100 }, () => ({
    type: 'device-status-changed',
    data: { id: 'dev-0123456789', status: 'accepted' },
  }));
  const posts = [];
  for (let i = 0; i < N / 100; i++) {
    posts.push(call('/v1/events', { events }, key));
    if (posts.length >= 8) await Promise.all(posts.splice(0));
  }
  await Promise.all(posts);
  log(`drain: ${N} events × ${HOOKS} webhook(s) queued; starting the worker`);
  await receiver.reset({ track: true });
  const done = receiver.expect(N * HOOKS, 300_000);
  // --worker-env=NAME=value,NAME=value: extra worker settings (e.g. DEVHOOKS_MAX_IN_PROGRESS=1000)
  const extra = Object.fromEntries(
    arg('worker-env', '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=')),
  );
  const worker = new Proc('worker', 'apps/worker/dist/main.js', { ...env, ...extra }, NODE_ARGS);
  await worker.waitForOutput('worker started');
  const redisPid = Number((await redis.info('server')).match(/process_id:(\d+)/)?.[1]);
  const cpu0 = cpuSeconds(worker.pid);
  const rx0 = cpuSeconds(receiver.pid);
  const redis0 = redisPid ? cpuSeconds(redisPid) : 0;
  const t0 = now();
  const r = await done;
  const seconds = (now() - t0) / 1000;
  const cpu = cpuSeconds(worker.pid) - cpu0;
  const rxCpu = cpuSeconds(receiver.pid) - rx0;
  const redisCpu = redisPid ? cpuSeconds(redisPid) - redis0 : NaN;
  const total = N * HOOKS;
  console.log(
    JSON.stringify({
      deliveries: total,
      complete: r.reached,
      seconds: +seconds.toFixed(2),
      deliveries_per_s: Math.round(total / seconds),
      worker_cpu_s: +cpu.toFixed(2),
      worker_cpu_us_per_delivery: Math.round((cpu / total) * 1e6),
      worker_cpu_share: +(cpu / seconds).toFixed(2),
      receiver_cpu_share: +(rxCpu / seconds).toFixed(2),
      redis_cpu_share: +(redisCpu / seconds).toFixed(2),
    }),
  );
  await sleep(500);
  await worker.stop();
  const scavenges = (worker.output.match(/Scavenge/g) ?? []).length;
  const marks = (worker.output.match(/Mark-Compact|Mark-sweep/g) ?? []).length;
  if (scavenges || marks) {
    console.log(JSON.stringify({ scavenges, mark_compacts: marks }));
    console.log(
      worker.output
        .split('\n')
        .filter((l) => /Scavenge|Mark/.test(l))
        .slice(-6)
        .join('\n'),
    );
  }
} finally {
  await api.stop();
  await receiver.stop();
  await deleteKeys(redis, [`{${PREFIX}}*`, `{${PREFIX}:s*}*`]);
  redis.disconnect();
  await pool.close();
}
