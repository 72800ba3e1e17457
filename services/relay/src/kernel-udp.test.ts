import { describe, expect, it } from 'vitest';
import { parseSnmpUdp } from './kernel-udp.js';

const LINUX = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 12345
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 9876 12 34 5432 21 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
`;

describe('parseSnmpUdp', () => {
  it.each([
    ['a Linux /proc/net/snmp, not UdpLite', LINUX, { rcvbufErrors: 21, inErrors: 34 }],
    ['no Udp lines', 'Ip: a b\nIp: 1 2\n', undefined],
    ['names without values', 'Udp: InErrors RcvbufErrors\n', undefined],
    ['a column missing', 'Udp: InDatagrams InErrors\nUdp: 1 2\n', undefined],
    ['a value that is not a number', 'Udp: InErrors RcvbufErrors\nUdp: x 2\n', undefined],
    ['empty', '', undefined],
  ])('%s', (_name, text, expected) => {
    expect(parseSnmpUdp(text)).toEqual(expected);
  });
});
