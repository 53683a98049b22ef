/** GET /console: the console's files, from memory, under a strict CSP, revalidated, as the right types. */
import { startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix } from '../../../test/support/redis';
import { fillPath, ROUTES } from '@devhooks/client';
import { CONSOLE_DIR } from '../src/routes/console';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(testPrefix(__filename));
});
afterAll(() => api.close());

const get = (path: string, headers: Record<string, string> = {}) => fetch(api.base + path, { headers });

describe('GET /console', () => {
  it('serves the page under a strict Content-Security-Policy, without authentication', async () => {
    const res = await get('/console');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const rule of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) {
      expect(csp).toContain(rule);
    }
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/console/app.js"></script>');
    expect(html).not.toMatch(/<script>|<style|style="|https?:\/\//);
    expect((await get('/console/')).status).toBe(200);
  });

  it('serves modules and the style sheet with their types, and 304 for an unchanged ETag', async () => {
    const js = await get('/console/app.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await get('/console/console.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const again = await get('/console/app.js', { 'if-none-match': js.headers.get('etag')! });
    expect(again.status).toBe(304);
    expect((await get('/console/app.js', { 'if-none-match': '"other"' })).status).toBe(200);
  });

  it("serves @devhooks/client's route table and fillPath as the module /console/client.js", async () => {
    const res = await get('/console/client.js');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const source = await res.text();
    const table = /^export const ROUTES = (\{[\s\S]*?\n\});$/m.exec(source);
    expect(JSON.parse(table![1])).toEqual(ROUTES);
    expect(source).toContain(`export ${fillPath.toString()}`);
    // the console imports it (and nothing else declares a path)
    expect(await (await get('/console/api.js')).text()).toContain("from './client.js'");
  });

  it('answers 404 (JSON) for any other name, and never reads a path', async () => {
    for (const p of ['/console/nope.js', '/console/..%2Fpackage.json', '/console/%2e%2e%2fsrc%2fmain.ts']) {
      const res = await get(p);
      expect([p, res.status]).toEqual([p, 404]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('finds its files from the package root (the same folder from src and from dist)', () => {
    expect(CONSOLE_DIR.replace(/\\/g, '/')).toMatch(/apps\/api\/console$/);
  });
});
