/**
 * Request bodies: JSON only (415 otherwise), at most 1 MiB (413, without reading the rest), strict
 * UTF-8 (invalid bytes are refused, not replaced), parsed (400 with the parser's position) and no
 * deeper than MAX_JSON_DEPTH. Nothing downstream ever sees a body that failed any of these.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { exceedsDepth, MAX_JSON_DEPTH } from '@devhooks/core';
import { ApiError } from './errors';

export const MAX_BODY_BYTES = 1024 * 1024;
// ignoreBOM: the decoder keeps a BOM, so exactly one is stripped below (a second one is not JSON)
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isJsonType(ct: string | undefined): boolean {
  if (!ct) return false;
  const mime = ct.split(';')[0].trim().toLowerCase();
  return mime === 'application/json' || (mime.startsWith('application/') && mime.endsWith('+json'));
}

/**
 * Reads and checks a request's JSON body; `undefined` when there is none. Rejects with the
 * ApiError to answer (415, 413, 400); the rest of an oversized body is not read.
 */
export function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const length = req.headers['content-length'];
  const chunked = /chunked/i.test(req.headers['transfer-encoding'] ?? '');
  if (!chunked && (length === undefined || length === '0')) return Promise.resolve(undefined);
  if (!isJsonType(req.headers['content-type'])) {
    req.resume();
    return Promise.reject(
      new ApiError(415, 'unsupported_media_type', 'the body must be JSON (Content-Type: application/json)'),
    );
  }
  if (length !== undefined && Number(length) > limit) {
    req.resume();
    return Promise.reject(
      new ApiError(413, 'payload_too_large', `the body is ${length} bytes; at most ${limit} are accepted`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new ApiError(413, 'payload_too_large', `the body is over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('error', (err) => {
      if (failed) return;
      failed = true;
      reject(new ApiError(400, 'invalid_request', `the body could not be read: ${err.message}`));
    });
    req.on('end', () => {
      if (failed) return;
      let text: string;
      try {
        text = utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      } catch {
        return reject(new ApiError(400, 'invalid_json', 'the body is not valid UTF-8'));
      }
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        return reject(new ApiError(400, 'invalid_json', `the body is not valid JSON: ${(err as Error).message}`));
      }
      if (exceedsDepth(value, MAX_JSON_DEPTH)) {
        return reject(new ApiError(400, 'invalid_json', `the body nests deeper than ${MAX_JSON_DEPTH} levels`));
      }
      resolve(value);
    });
  });
}

/** The express middleware: `req.body` is the checked JSON body, or undefined. */
export function jsonBody(limit = MAX_BODY_BYTES): RequestHandler {
  return (req, _res, next) => {
    readJsonBody(req, limit).then((body) => {
      req.body = body;
      next();
    }, next);
  };
}
