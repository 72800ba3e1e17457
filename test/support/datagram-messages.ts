import type { KafkaMessage } from 'kafkajs';
import { openRecord, recordEntries, sniff } from '@parsl-usage/schemas';

/**
 * A raw-topic record as one message per datagram: a pack (record format 3) gives each entry as
 * its own format-2 envelope, keyed by the workflow id the relay sniffed (a pack has no key);
 * any other record is returned as it is.
 */
export function datagramMessages(message: KafkaMessage): KafkaMessage[] {
  if (message.value === null) return [message];
  const entries = recordEntries(message.value);
  if (entries.length === 1 && entries[0] === message.value) return [message];
  return entries.map((value) => {
    const s = sniff(openRecord(value).datagram);
    return { ...message, key: message.key ?? (s.kind === 'ok' ? Buffer.from(s.id) : null), value };
  });
}
