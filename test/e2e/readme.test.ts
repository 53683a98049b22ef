/**
 * The README's walk-through works as written: its curl commands, run by bash against `npm start`'s
 * process and a loopback receiver (only the two ports are substituted).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, startNpmStart } from '../support/processes';
import { Receiver } from '../support/receiver';
import { cleanPrefix, testPrefix } from '../support/redis';

jest.setTimeout(60_000);
const prefix = testPrefix(__filename);
afterAll(() => cleanPrefix(prefix));

it('the walk-through delivers its event to the receiver', async () => {
  const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
  const block = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme)?.[1];
  expect(block).toContain('POST $DEVHOOKS/v1/events');
  const port = await freePort();
  const rx = await Receiver.start();
  const proc = await startNpmStart({
    DEVHOOKS_PREFIX: prefix,
    DEVHOOKS_PORT: String(port),
    DEVHOOKS_ADMIN_TOKEN: 'change-me',
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  });
  try {
    const script = block!
      .replace(/127\.0\.0\.1:8080/g, `127.0.0.1:${port}`)
      .replace(/127\.0\.0\.1:9000/g, `127.0.0.1:${rx.port}`);
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
      env: { PATH: process.env.PATH ?? '' },
    });
    const [req] = await rx.waitFor(1);
    expect(req.path).toBe('/hooks');
    expect(req.headers['webhook-id']).toBe('e57adf60-5d8c-4c66-802a-e0c5f643102a');
    expect(JSON.parse(req.body)).toMatchObject({
      type: 'device-status-changed',
      data: { id: '769e5a83-259c-4506-ab05-9c2564f196fd', status: 'accepted' },
    });
    expect(stdout).toMatch(/"secret":"whsec_/);
    expect(stdout).toMatch(/"accepted":1/);
  } finally {
    await proc.kill('SIGINT');
    await rx.close();
  }
});
