import { recordEntries } from '@parsl-usage/schemas';
import { eventually, freshName, kafka } from '../setup/env.js';

export interface TopicMessage {
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning with a fresh group until `enough(messages)` holds (or fails
 * after 60 s), e.g. the rejected topic with its reason headers; a pack gives one message per
 * datagram, each the format-2 envelope of it.
 */
export async function readTopic(
  topic: string,
  enough: (got: TopicMessage[]) => boolean,
): Promise<TopicMessage[]> {
  const consumer = kafka(freshName('read')).consumer({ groupId: freshName('read'), maxWaitTimeInMs: 100 });
  const got: TopicMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = v?.toString() ?? '';
        // One message per datagram: a pack (record format 3) holds several.
        for (const value of recordEntries(message.value ?? Buffer.alloc(0))) got.push({ value, headers });
        return Promise.resolve();
      },
    });
    await eventually(() => (enough(got) ? true : undefined), {
      timeoutMs: 60_000,
      what: `messages of ${topic}`,
    });
    return got;
  } finally {
    await consumer.disconnect();
  }
}
