/**
 * The web console (contract §10): plain ES modules and CSS from apps/api/console, read once at
 * start-up and served from memory under a strict Content-Security-Policy. The folder is found from
 * the package root, so the same files serve from src (tests) and from dist (`npm start`). Beside
 * them, `client.js`: @devhooks/client's route table and `fillPath` as a browser module, so the
 * console calls the API through the client's one definition of each route.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Router, type Response } from 'express';
import { fillPath, ROUTES } from '@devhooks/client';
import { notFound } from '../http/errors';

/** apps/api/console: two levels above both src/routes and dist/routes. */
export const CONSOLE_DIR = path.resolve(__dirname, '..', '..', 'console');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Same-origin everything; no inline script or style; never framed (clickjacking). */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The name the console imports the client's routes by (apps/api/console/api.js). */
export const CLIENT_MODULE = 'client.js';

/** @devhooks/client's route table and path filling as an ES module for the browser. */
export function clientModuleSource(): string {
  return [
    '// @devhooks/client (packages/client/src/routes.ts), served by the API as a browser module.',
    `export const ROUTES = ${JSON.stringify(ROUTES, null, 2)};`,
    `export ${fillPath.toString()}`,
    '',
  ].join('\n');
}

function asset(body: Buffer, type: string): Asset {
  return { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` };
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) assets.set(name, asset(readFileSync(path.join(dir, name)), type));
  }
  assets.set(CLIENT_MODULE, asset(Buffer.from(clientModuleSource()), TYPES['.js']));
  return assets;
}

export function consoleRoutes(dir = CONSOLE_DIR): Router {
  const r = Router();
  const assets = loadAssets(dir);

  function send(reqEtag: string | undefined, res: Response, asset: Asset): void {
    res.set({
      'Content-Type': asset.type,
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      // file names carry no hash: revalidate every time (a 304 costs a few bytes), so an upgraded
      // server is never paired with stale modules
      'Cache-Control': 'no-cache',
      ETag: asset.etag,
    });
    if (reqEtag === asset.etag) res.status(304).end();
    else res.send(asset.body);
  }

  r.get('/console', (req, res) => {
    const index = assets.get('index.html');
    if (!index) throw notFound('console');
    send(req.headers['if-none-match'], res, index);
  });

  r.get('/console/:asset', (req, res) => {
    // only names read at start-up: no path ever reaches the file system
    const asset = assets.get(req.params.asset);
    if (!asset) throw notFound(`console file ${req.params.asset}`);
    send(req.headers['if-none-match'], res, asset);
  });

  return r;
}
