import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_DATAGRAM_BYTES, MAX_ID_CHARS, sniff, sniffMessage } from './sniff.js';

const ID = '3f1c6f52-7d1a-4c55-9a51-0d1f2b6c1a01';
const v1 = (obj: unknown): Buffer => Buffer.from('1' + JSON.stringify(obj), 'utf8');
const legacy = (obj: unknown): Buffer => Buffer.from(JSON.stringify(obj), 'utf8');

describe('sniff accepts', () => {
  it.each([
    ['v1 launch', v1({ correlator: ID, parsl_v: '2025.03.17' }), 'v1', ID],
    ['v1 closure', v1({ correlator: ID, end: 1 }), 'v1', ID],
    ['legacy launch', legacy({ uuid: ID, start: 1.5 }), 'legacy', ID],
    ['legacy closure', legacy({ uuid: ID, end: 1.5 }), 'legacy', ID],
    // Python's json.dumps separators, exactly as Parsl writes them
    ['python spacing', Buffer.from(`1{"correlator": "${ID}", "end": 1}`), 'v1', ID],
    ['trailing newline', Buffer.from(`{"uuid": "${ID}"}\n`), 'legacy', ID],
    ['non-ASCII elsewhere', v1({ correlator: ID, project_name: 'café' }), 'v1', ID],
    [
      'id of exactly the max length',
      v1({ correlator: 'a'.repeat(MAX_ID_CHARS) }),
      'v1',
      'a'.repeat(MAX_ID_CHARS),
    ],
    ['legacy keyed by uuid even with a correlator', legacy({ uuid: 'u', correlator: 'c' }), 'legacy', 'u'],
  ])('%s', (_name, bytes, protocol, id) => {
    expect(sniff(bytes)).toEqual({ kind: 'ok', protocol, id });
  });

  it('sniffMessage also returns the parsed object', () => {
    const out = sniffMessage(v1({ correlator: ID, end: 7 }));
    expect(out).toEqual({ kind: 'ok', protocol: 'v1', id: ID, message: { correlator: ID, end: 7 } });
  });
});

describe('sniff on every fixture', () => {
  const dir = new URL('../fixtures/', import.meta.url);
  const files = ['parsl-2025.03.17', 'parsl-2024.06.03', 'legacy'].flatMap((sub) =>
    readdirSync(new URL(`${sub}/`, dir))
      .filter((name) => name.endsWith('.bin'))
      .map((name) => `${sub}/${name}`),
  );

  it('finds the fixtures', () => {
    expect(files).toHaveLength(12);
  });

  it.each(files)('%s', (path) => {
    const bytes = readFileSync(new URL(path, dir));
    const out = sniff(bytes);
    expect(out).toMatchObject({ kind: 'ok', protocol: path.startsWith('legacy/') ? 'legacy' : 'v1' });
    if (out.kind === 'ok')
      expect(out.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('sniff rejects', () => {
  it.each([
    ['empty', Buffer.alloc(0), 'empty'],
    [
      'too large',
      Buffer.concat([Buffer.from('{"uuid":"x","pad":"'), Buffer.alloc(MAX_DATAGRAM_BYTES, 0x61)]),
      'too_large',
    ],
    ['other first byte', Buffer.from('2{"correlator":"x"}'), 'bad_prefix'],
    ['leading space before {', Buffer.from(' {"uuid":"x"}'), 'bad_prefix'],
    ['leading newline before {', Buffer.from('\n{"uuid":"x"}'), 'bad_prefix'],
    ['a JSON array', Buffer.from('[1]'), 'bad_prefix'],
    [
      'bad UTF-8 in v1',
      Buffer.concat([Buffer.from('1{"correlator":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      'bad_utf8',
    ],
    [
      'bad UTF-8 in legacy',
      Buffer.concat([Buffer.from('{"uuid":"x","os":"'), Buffer.from([0xff]), Buffer.from('"}')]),
      'bad_utf8',
    ],
    ['truncated JSON', Buffer.from('1{"correlator": "x", "end'), 'bad_json'],
    ['v1 prefix alone', Buffer.from('1'), 'bad_json'],
    ['Python NaN', Buffer.from('{"uuid": "x", "start": NaN}'), 'bad_json'],
    [
      'UTF-8 BOM after prefix',
      Buffer.concat([Buffer.from('1'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"correlator":"x"}')]),
      'bad_json',
    ],
    ['v1 body is an array', Buffer.from('1["x"]'), 'not_object'],
    ['v1 body is a number', Buffer.from('12'), 'not_object'],
    ['v1 body is null', Buffer.from('1null'), 'not_object'],
    ['v1 body is a string', Buffer.from('1"x"'), 'not_object'],
    ['v1 without correlator', v1({ parsl_v: '2025.03.17' }), 'no_id'],
    ['v1 with null correlator', v1({ correlator: null }), 'no_id'],
    ['v1 keyed by uuid (legacy key)', v1({ uuid: ID }), 'no_id'],
    ['legacy without uuid', legacy({ start: 1 }), 'no_id'],
    ['legacy keyed by correlator (v1 key)', legacy({ correlator: ID }), 'no_id'],
    ['numeric id', v1({ correlator: 42 }), 'bad_id'],
    ['object id', legacy({ uuid: { a: 1 } }), 'bad_id'],
    ['empty id', v1({ correlator: '' }), 'bad_id'],
    ['id too long', v1({ correlator: 'a'.repeat(MAX_ID_CHARS + 1) }), 'bad_id'],
    ['id with a space', v1({ correlator: 'a b' }), 'bad_id'],
    ['id with a control char', v1({ correlator: 'a\u0000b' }), 'bad_id'],
    ['id with non-ASCII', v1({ correlator: 'caf\u00e9' }), 'bad_id'],
  ])('%s -> %s', (_name, bytes, reason) => {
    const out = sniff(bytes);
    expect(out.kind).toBe('rejected');
    if (out.kind !== 'rejected') return;
    expect(out.reason).toBe(reason);
    expect(out.detail.length).toBeGreaterThan(0);
  });

  it('names the byte in a bad_prefix detail', () => {
    expect(sniff(Buffer.from([0x00, 0x7b]))).toEqual({
      kind: 'rejected',
      reason: 'bad_prefix',
      detail: 'first byte 0x00',
    });
  });

  it('does not throw on hostile nesting', () => {
    const depth = 10_000;
    const bytes = Buffer.from(`1{"correlator":"x","components":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expect(sniff(bytes)).toEqual({ kind: 'ok', protocol: 'v1', id: 'x' });
  });
});
