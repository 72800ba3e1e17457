import { describe, expect, it } from 'vitest';
import { grantedRcvbuf } from './udp-server.js';

describe('grantedRcvbuf', () => {
  it.each([
    // Linux reports double what it granted (half is kernel bookkeeping).
    ['linux', 16_777_216, 8_388_608],
    ['linux', 425_984, 212_992],
    ['linux', 3, 1],
    ['linux', 0, 0],
    // Elsewhere the report is the usable size.
    ['darwin', 8_388_608, 8_388_608],
    ['win32', 65_536, 65_536],
    ['freebsd', 3, 3],
  ] as const)('%s reports %i bytes: %i usable', (platform, reported, usable) => {
    expect(grantedRcvbuf(reported, platform)).toBe(usable);
  });
});
