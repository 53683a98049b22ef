/** @devhooks/client: a typed client of the devhooks API (see this package's README). */
export * from './client';
export * from './routes';
export type * from './types';
