import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The release, as the packages' package.json says (sent as `user-agent: devhooks/<version>`). */
export const VERSION: string = (
  JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')) as { version: string }
).version;
