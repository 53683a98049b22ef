/** Telling "not sent" from "sent, outcome unknown" over a real Redis (issue 13, defect 2). */
import net from 'node:net';
import Redis from 'ioredis';
import { testPrefix, testRedis, testRedisUrl } from '../../../../test/support/redis';
import { CommandNotSentError, OutcomeUnknownError, sendWhenReady } from './outcome';

const key = testPrefix(__filename) + ':list';
const admin = testRedis();
afterAll(() => admin.disconnect());

it('a reply, even an error reply, is an outcome', async () => {
  const redis = new Redis(testRedisUrl());
  try {
    expect(await sendWhenReady(redis, () => redis.ping())).toBe('PONG');
    await expect(sendWhenReady(redis, () => redis.call('NO-SUCH-COMMAND'))).rejects.toThrow(/unknown command/i);
    await expect(sendWhenReady(redis, () => redis.call('NO-SUCH-COMMAND'))).rejects.not.toBeInstanceOf(
      OutcomeUnknownError,
    );
  } finally {
    redis.disconnect();
  }
});

it('a connection lost after the command was sent: OutcomeUnknownError', async () => {
  const redis = new Redis(testRedisUrl(), { connectionName: 'outcome-test-victim' });
  try {
    const id = Number(await redis.client('ID'));
    const outcome = sendWhenReady(redis, () => redis.blpop(key, 10)).then(
      () => 'answered',
      (err: unknown) => err,
    );
    // the command is on the wire and blocking in Redis: kill its connection from outside
    for (;;) {
      const list = String(await admin.client('LIST'));
      if (new RegExp(`id=${id} .*cmd=blpop`).test(list)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // this one connection only: the test Redis is shared
    await admin.client('KILL', 'ID', String(id));
    expect(await outcome).toBeInstanceOf(OutcomeUnknownError);
  } finally {
    redis.disconnect();
  }
});

it('Redis unreachable: CommandNotSentError, and the command is never sent', async () => {
  // a port nothing listens on
  const free = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  const redis = new Redis({ port: free, host: '127.0.0.1', retryStrategy: () => 100, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let sent = false;
  try {
    await expect(
      sendWhenReady(
        redis,
        () => {
          sent = true;
          return redis.ping();
        },
        300,
      ),
    ).rejects.toBeInstanceOf(CommandNotSentError);
    expect(sent).toBe(false);
  } finally {
    redis.disconnect();
  }
});
