/** Query-string parameters, checked: a bad one is a 400 with a detail naming it. */
import type { Request } from 'express';
import type { ErrorDetail } from '@devhooks/core';
import { badRequest } from './errors';

export class QueryReader {
  readonly details: ErrorDetail[] = [];
  constructor(private readonly req: Request) {}

  private raw(name: string): string | undefined {
    const v = (this.req.query as Record<string, unknown>)[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') {
      this.details.push({ path: `/${name}`, message: 'must be given once' });
      return undefined;
    }
    return v;
  }

  string(name: string, max = 256): string | undefined {
    const v = this.raw(name);
    if (v !== undefined && v.length > max)
      this.details.push({ path: `/${name}`, message: `must be at most ${max} characters` });
    return v;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.raw(name);
    if (v !== undefined && !allowed.includes(v as T)) {
      this.details.push({ path: `/${name}`, message: `must be one of: ${allowed.join(', ')}` });
      return undefined;
    }
    return v as T | undefined;
  }

  int(name: string, min: number, max: number, dflt?: number): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.details.push({ path: `/${name}`, message: `must be an integer from ${min} to ${max}` });
      return dflt;
    }
    return Number(v);
  }

  /** RFC 3339 date-time or Unix milliseconds → ms. */
  time(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const ms = /^\d+$/.test(v) ? Number(v) : /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : NaN;
    if (Number.isNaN(ms)) {
      this.details.push({ path: `/${name}`, message: 'must be an RFC 3339 date-time or Unix milliseconds' });
      return undefined;
    }
    return ms;
  }

  page(): { offset: number; limit: number } {
    return { offset: this.int('offset', 0, 1_000_000_000, 0)!, limit: this.int('limit', 1, 200, 50)! };
  }

  /** Throws the 400 if anything was wrong. */
  done(): void {
    if (this.details.length) throw badRequest('invalid query parameters', this.details);
  }
}
