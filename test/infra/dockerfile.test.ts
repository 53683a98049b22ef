/**
 * infra/Dockerfile, checked as text (no Docker engine here): supported Node base, multi-stage build
 * with `npm ci`, `npm run build` and a production prune, DEVHOOKS_HOST=0.0.0.0, a node HEALTHCHECK,
 * a non-root user. The health check script itself runs against loopback servers.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { freePort } from '../support/processes';

const ROOT = path.resolve(__dirname, '../..');

interface Instruction {
  op: string;
  args: string;
}

/** Instructions in order (continuation lines joined, comments dropped), split into build stages. */
function dockerfileStages(text: string): Instruction[][] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Instruction[][] = [];
  for (const line of lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') stages.push([]);
    stages[stages.length - 1].push({ op: op.toUpperCase(), args });
  }
  return stages;
}

const stages = dockerfileStages(fs.readFileSync(path.join(ROOT, 'infra/Dockerfile'), 'utf8'));
const final = stages[stages.length - 1];
const args = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).map((i) => i.args);

test('every stage is on Node 22 LTS (Debian bookworm slim)', () => {
  expect(stages.length).toBeGreaterThanOrEqual(2);
  for (const s of stages) expect(s[0].args).toMatch(/^node:22-bookworm-slim( AS \w+)?$/i);
});

test('the build stage installs with npm ci, builds with npm run build and prunes dev dependencies', () => {
  const build = stages[0];
  const runs = args(build, 'RUN').join(' && ');
  expect(runs).toMatch(/\bnpm ci\b/);
  expect(runs).toMatch(/\bnpm run build\b/);
  expect(runs).toMatch(/\bnpm prune --omit=dev\b/);
  expect(runs.indexOf('npm run build')).toBeLessThan(runs.indexOf('npm prune'));
  const buildName = /\sAS\s+(\w+)/i.exec(build[0].args)?.[1];
  expect(args(final, 'COPY').some((a) => a.includes(`--from=${buildName}`))).toBe(true);
  // every file the build copies from the context exists (and is not excluded by .dockerignore)
  const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').filter(Boolean);
  for (const copy of stages.flatMap((s) => args(s, 'COPY')).filter((a) => !a.includes('--from='))) {
    const sources = copy
      .split(/\s+/)
      .filter((w) => !w.startsWith('--'))
      .slice(0, -1);
    for (const src of sources) {
      expect(fs.existsSync(path.join(ROOT, src))).toBe(true);
      expect(ignored).not.toContain(src);
    }
  }
});

test('the final image listens on all interfaces, runs as node, and checks its health with node', () => {
  const env = args(final, 'ENV').join(' ');
  expect(env).toMatch(/\bDEVHOOKS_HOST=0\.0\.0\.0\b/);
  expect(env).toMatch(/\bDEVHOOKS_WORKER_HOST=0\.0\.0\.0\b/);
  const users = args(final, 'USER');
  expect(users[users.length - 1]).toBe('node');
  const userAt = final.findIndex((i) => i.op === 'USER');
  expect(final.findIndex((i) => i.op === 'CMD')).toBeGreaterThan(userAt);
  expect(final.slice(userAt).some((i) => i.op === 'RUN')).toBe(false);
  const [healthcheck] = args(final, 'HEALTHCHECK');
  expect(healthcheck).toMatch(/CMD \["node", "infra\/healthcheck\.mjs"\]/);
  expect(healthcheck).not.toMatch(/curl|wget/);
  expect(args(final, 'COPY').some((a) => a.includes('infra/healthcheck.mjs'))).toBe(true);
  expect(args(final, 'CMD')).toEqual(['["node", "apps/api/dist/main.js"]']);
});

describe('infra/healthcheck.mjs', () => {
  let server: http.Server;
  let port: number;
  let status = 200;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? status : 404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const run = (env: Record<string, string>) =>
    new Promise<number>((resolve) => {
      execFile(process.execPath, [path.join(ROOT, 'infra/healthcheck.mjs')], { env }, (err) =>
        resolve(err ? Number((err as { code?: number }).code) : 0),
      );
    });

  test('passes when the API port or the worker port answers /healthz with 200, fails otherwise', async () => {
    const closed = String(await freePort());
    status = 200;
    expect(await run({ DEVHOOKS_PORT: String(port), DEVHOOKS_WORKER_PORT: closed })).toBe(0);
    expect(await run({ DEVHOOKS_PORT: closed, DEVHOOKS_WORKER_PORT: String(port) })).toBe(0);
    expect(await run({ DEVHOOKS_PORT: closed, DEVHOOKS_WORKER_PORT: closed })).toBe(1);
    status = 503;
    expect(await run({ DEVHOOKS_PORT: String(port), DEVHOOKS_WORKER_PORT: closed })).toBe(1);
  });
});
