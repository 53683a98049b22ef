/**
 * `npm start` (scripts/start.mjs): API and worker in one process, the root token generated and
 * printed when none is set, and Ctrl-C (SIGINT) stopping both cleanly with exit code 0.
 */
import { Client } from '../support/api';
import { freePort, startNpmStart } from '../support/processes';
import { Receiver } from '../support/receiver';
import { cleanPrefix, testPrefix } from '../support/redis';

jest.setTimeout(60_000);
const prefix = testPrefix(__filename);
afterAll(() => cleanPrefix(prefix));

it('runs the service, prints a generated root token once, and stops on SIGINT', async () => {
  const port = await freePort();
  const rx = await Receiver.start();
  const proc = await startNpmStart({
    DEVHOOKS_PREFIX: prefix,
    DEVHOOKS_PORT: String(port),
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  });
  try {
    const token = /root token \(shown once\): (\S+)/.exec(proc.output)?.[1];
    expect(token).toMatch(/^dhroot_/);
    expect(proc.output.split(token!).length).toBe(2); // printed exactly once
    const client = new Client(`http://127.0.0.1:${port}`, token);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const org = await client.org('start', 'admin');
    await client.call('POST', '/v1/webhooks', {
      token: org.key,
      body: { name: 'rx', url: rx.url(), topics: ['deviceauth'] },
    });
    await client.call('POST', '/v1/events', {
      token: org.key,
      body: { id: 'via-npm-start', type: 'device-decommissioned', data: { id: 'd' } },
    });
    const [req] = await rx.waitFor(1);
    expect(req.headers['webhook-id']).toBe('via-npm-start');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/devhooks_delivery_attempts_total\{outcome="success"/);
    const { code } = await proc.kill('SIGINT');
    expect(code).toBe(0);
    expect(proc.output).toMatch(/stopped/);
  } finally {
    await proc.kill('SIGKILL');
    await rx.close();
  }
});
