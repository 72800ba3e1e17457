/**
 * Validators of the public API's answers: a strong ETag made from the body's bytes, and the
 * If-None-Match check (RFC 9110 13.1.2: weak comparison, a list or `*`). Pure.
 */
import { createHash } from 'node:crypto';

/** `"<base64url sha-256 of the body, 128 bits>"`: equal bodies, equal tags, whichever process. */
export function strongEtag(body: Buffer | string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/** Longer headers are not looked at (no client sends hundreds of tags): the answer is sent whole. */
const MAX_HEADER_CHARS = 4_096;

/** Whether an If-None-Match header matches `etag`, so the answer is a 304. */
export function notModified(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  const header = Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch;
  if (!header || header.length > MAX_HEADER_CHARS) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === opaque);
}
