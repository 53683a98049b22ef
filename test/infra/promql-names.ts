/**
 * Which metric names PromQL expressions use, and which metric names the code exports: every
 * `'devhooks_…'` literal in packages/* and apps/* sources, plus prom-client's default metrics as the
 * processes register them (createRegistry).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRegistry } from '@devhooks/engine';

const KEYWORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS_TOO = new Set(['offset', 'bool', 'inf', 'nan']);

/** Metric names in a PromQL expression (label matchers, groupings, strings and ranges removed). */
export function promqlMetricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\(?))/g)) {
    const [word, paren] = [m[0], m[1]];
    if (paren === '(' || KEYWORDS.has(word) || KEYWORDS_TOO.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** Metric names the processes export. */
export async function exportedMetricNames(root: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const top of ['packages', 'apps']) {
    for (const ws of fs.readdirSync(path.join(root, top))) {
      const src = path.join(root, top, ws, 'src');
      if (!fs.existsSync(src)) continue;
      for (const f of sourceFiles(src)) {
        for (const m of fs.readFileSync(f, 'utf8').matchAll(/['"`](devhooks_[a-z0-9_]+)['"`]/g)) names.add(m[1]);
      }
    }
  }
  for (const m of await createRegistry('names').getMetricsAsJSON()) names.add(m.name);
  return names;
}

/** Whether `name` is a known metric or a histogram's / summary's series of one. */
export function isKnownSeries(name: string, known: Set<string>): boolean {
  return known.has(name) || known.has(name.replace(/_(bucket|sum|count)$/, ''));
}
