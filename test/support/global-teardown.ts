export default async function globalTeardown(): Promise<void> {
  const c = (globalThis as { __redisContainer?: { stop(): Promise<unknown> } }).__redisContainer;
  if (c) await c.stop();
}
