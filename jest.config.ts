import type { Config } from 'jest';

const transform: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
};
const moduleNameMapper = {
  '^@devhooks/(core|engine|client)$': '<rootDir>/packages/$1/src',
};
const common = { rootDir: __dirname, transform, moduleNameMapper, testEnvironment: 'node' };

const config: Config = {
  // Picks the Redis every test file shares: REDIS_URL / DEVHOOKS_REDIS_URL, else 127.0.0.1:6379, else a
  // testcontainers Redis. Each file then isolates itself with its own key prefix.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'core', testMatch: ['<rootDir>/packages/core/**/*.test.ts'] },
    { ...common, displayName: 'engine', testMatch: ['<rootDir>/packages/engine/**/*.test.ts'] },
    { ...common, displayName: 'client', testMatch: ['<rootDir>/packages/client/**/*.test.ts'] },
    { ...common, displayName: 'api', testMatch: ['<rootDir>/apps/api/**/*.test.ts'] },
    { ...common, displayName: 'worker', testMatch: ['<rootDir>/apps/worker/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    // a local Redis Cluster from the redis-server / redis-cli binaries (test/support/redis-cluster.ts)
    { ...common, displayName: 'cluster', testMatch: ['<rootDir>/test/cluster/**/*.test.ts'] },
    // deployment files (infra/, docker-compose.yml), checked statically
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    // the web console in Debian's Chromium (apt-get install -y chromium), driven by playwright-core
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
  ],
};

export default config;
