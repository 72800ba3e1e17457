import { describe, expect, it } from 'vitest';
import { FakeResponse } from './fake-response.fixture.js';
import { send, sendJson } from './responses.js';

const SECURITY = ['content-security-policy', 'x-content-type-options', 'referrer-policy'];

describe('send', () => {
  it.each([
    ['text', 200, 'text/plain; charset=utf-8', 'hello', {}],
    [
      'a buffer',
      200,
      'text/csv; charset=utf-8',
      Buffer.from('a,b\n'),
      { 'content-disposition': 'attachment' },
    ],
    ['an error', 404, 'text/plain; charset=utf-8', 'not found', { 'cache-control': 'no-store' }],
  ])('%s: status, type, body, security headers and the extra ones', (_name, status, type, body, extra) => {
    const f = new FakeResponse();
    send(f.res, status, type, body, extra);
    expect(f.status).toBe(status);
    expect(f.headers['content-type']).toBe(type);
    for (const h of SECURITY) expect(f.headers[h]).toBeTruthy();
    expect(f.headers['x-content-type-options']).toBe('nosniff');
    expect(f.headers['referrer-policy']).toBe('no-referrer');
    expect(f.headers['content-security-policy']).toContain("default-src 'self'");
    for (const [k, v] of Object.entries(extra)) expect(f.headers[k]).toBe(v);
    expect(f.body).toBe(body.toString());
    expect(f.ended).toBe(true);
  });

  it('lets an extra header replace a default one', () => {
    const f = new FakeResponse();
    send(f.res, 200, 'text/plain', 'x', { 'referrer-policy': 'same-origin' });
    expect(f.headers['referrer-policy']).toBe('same-origin');
  });
});

describe('sendJson', () => {
  it('serializes the body as JSON, with the headers', () => {
    const f = new FakeResponse();
    sendJson(f.res, 400, { error: 'bad', parameter: 'top' }, { 'cache-control': 'no-store' });
    expect(f.status).toBe(400);
    expect(f.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(f.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(f.body)).toEqual({ error: 'bad', parameter: 'top' });
  });
});
