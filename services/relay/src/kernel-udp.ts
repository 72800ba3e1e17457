/**
 * The kernel's UDP counters from /proc/net/snmp. They cover the whole network namespace, not
 * just the relay's socket, but RcvbufErrors is the one place a datagram dropped because the
 * relay fell behind shows up at all: such a datagram never reaches `relay_received_total`.
 */
export interface KernelUdpCounters {
  rcvbufErrors: number;
  inErrors: number;
}

/** Parses the two `Udp:` lines (names, then values); undefined if they are absent or odd. */
export function parseSnmpUdp(text: string): KernelUdpCounters | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = lines.map((l) => l.trim().split(/\s+/).slice(1));
  if (names === undefined || values === undefined || names.length !== values.length) return undefined;
  const get = (name: string): number | undefined => {
    const i = names.indexOf(name);
    const v = i < 0 ? undefined : Number(values[i]);
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
  const rcvbufErrors = get('RcvbufErrors');
  const inErrors = get('InErrors');
  return rcvbufErrors === undefined || inErrors === undefined ? undefined : { rcvbufErrors, inErrors };
}
