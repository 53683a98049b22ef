/** The logger's redaction reaches every depth (issue 13, defect 9). */
import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from './logger';

function capture(): { lines: () => Array<Record<string, any>>; logger: winston.Logger } {
  const chunks: string[] = [];
  const logger = createLogger('test', 'debug');
  logger.clear();
  logger.add(
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk.toString());
          done();
        },
      }),
    }),
  );
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
  };
}

it('redacts secrets, tokens and header values nested in objects and arrays', () => {
  const { logger, lines } = capture();
  const webhook = { id: 'wh_1', secret: 'whsec_abc', headers: { Authorization: 'Bearer cred' } };
  logger.info('webhook changed', {
    webhook,
    secret: 'top',
    attempts: [{ request: { headers: { 'X-Key': 'v' } }, signature: 'v1,sig' }],
    error: 'receiver said: Bearer cred',
  });
  const [line] = lines();
  const text = JSON.stringify(line);
  for (const leaked of ['whsec_abc', 'cred', 'top', '"v"', 'v1,sig']) expect(text).not.toContain(leaked);
  expect(line).toMatchObject({
    message: 'webhook changed',
    webhook: { id: 'wh_1', secret: '[redacted]', headers: { Authorization: '[redacted]' } },
    attempts: [{ request: { headers: { 'X-Key': '[redacted]' } }, signature: '[redacted]' }],
  });
  // the caller's object is left as it was
  expect(webhook.secret).toBe('whsec_abc');
});

it('a cyclic field does not break logging', () => {
  const { logger, lines } = capture();
  const loop: Record<string, unknown> = { token: 't' };
  loop.loop = loop;
  logger.warn('cyclic', { loop });
  expect(lines()[0].loop).toEqual({ token: '[redacted]', loop: '[circular]' });
});
