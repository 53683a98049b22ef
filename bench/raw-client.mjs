/**
 * The raw HTTP client's own CPU per request, for the CPU rows of the bench: a child process that
 * POSTs BENCH_RAW_COUNT bodies to BENCH_RAW_ORIGIN with undici (as the limit phase does) and
 * reports process.cpuUsage() per request. Bounded by its count.
 */
import { Pool } from 'undici';

const origin = process.env.BENCH_RAW_ORIGIN;
const count = Number(process.env.BENCH_RAW_COUNT ?? 20_000);
const concurrency = 64;
const body = JSON.stringify({ id: 'raw', type: 'device-status-changed', data: { id: 'dev', status: 'accepted' } });
const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
let next = 0;
const send = async () => {
  while (next < count) {
    next++;
    const res = await pool.request({
      method: 'POST',
      path: '/raw',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await res.body.dump();
  }
};
// warm-up, then the measured run
next = count - 2_000;
await Promise.all(Array.from({ length: concurrency }, send));
next = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, send));
const cpu = process.cpuUsage(cpu0);
const seconds = (performance.now() - t0) / 1000;
await pool.close();
process.send({
  requests: count,
  seconds,
  cpu_us_per_request: (cpu.user + cpu.system) / count,
  kernel_us_per_request: cpu.system / count,
});
