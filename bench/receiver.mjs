/**
 * The loopback receiver of the benchmarks: a tiny node:http server in its own process that answers
 * every request 200 "ok" and counts it. The parent (run.mjs, http-clients.mjs) drives it over IPC:
 *
 *   {cmd: 'reset', id, track?, latency?}   zero the counters; `track`: count unique
 *                                          (path, webhook-id) pairs and duplicates; `latency`:
 *                                          parse each body and keep now - body.data.sent_at
 *   {cmd: 'expect', id, n}                 answer {type: 'reached', id, at} once n requests (unique
 *                                          ones when tracking) have been received
 *   {cmd: 'stats', id}                     answer {type: 'stats', id, ...counters}
 *
 * Timestamps are `performance.timeOrigin + performance.now()` (ms since the epoch, sub-millisecond):
 * the same clock the parent uses on this machine.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();

let count = 0;
let unique = 0;
let duplicates = 0;
let first = 0;
let last = 0;
let track = false;
let latencyMode = false;
let seen = new Set();
let latencies = [];
let sentTimes = [];
let badLatency = 0;
let bytes = 0;
/** id → n of pending `expect`s. */
const waiters = new Map();

function checkWaiters() {
  if (!waiters.size) return;
  const have = track ? unique : count;
  for (const [id, n] of waiters) {
    if (have >= n) {
      waiters.delete(id);
      process.send?.({ type: 'reached', id, at: last, count, unique });
    }
  }
}

function received(req, body) {
  const t = now();
  count++;
  if (!first) first = t;
  last = t;
  bytes += body.length;
  if (track) {
    const key = `${req.url}|${req.headers['webhook-id'] ?? ''}`;
    if (seen.has(key)) duplicates++;
    else {
      seen.add(key);
      unique++;
    }
  }
  if (latencyMode) {
    try {
      const sent = JSON.parse(body.toString('utf8'))?.data?.sent_at;
      if (typeof sent === 'number') {
        latencies.push(t - sent);
        sentTimes.push(sent);
      } else badLatency++;
    } catch {
      badLatency++;
    }
  }
  checkWaiters();
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    received(req, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

process.on('message', (m) => {
  switch (m?.cmd) {
    case 'reset':
      count = unique = duplicates = first = last = badLatency = bytes = 0;
      track = !!m.track;
      latencyMode = !!m.latency;
      seen = new Set();
      latencies = [];
      sentTimes = [];
      waiters.clear();
      process.send?.({ type: 'reset', id: m.id });
      break;
    case 'expect':
      waiters.set(m.id, m.n);
      checkWaiters();
      break;
    case 'cancel':
      waiters.delete(m.id);
      break;
    case 'stats':
      process.send?.({
        type: 'stats',
        id: m.id,
        count,
        unique,
        duplicates,
        first,
        last,
        bytes,
        badLatency,
        latencies: m.withLatencies ? latencies : undefined,
        sentTimes: m.withLatencies ? sentTimes : undefined,
      });
      break;
    case 'stop':
      server.close();
      process.exit(0);
  }
});
// the parent went away: nothing to receive for
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: server.address().port, pid: process.pid });
});
