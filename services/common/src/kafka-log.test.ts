import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { kafkaLogCreator } from './kafka-log.js';

describe('kafkaLogCreator', () => {
  it.each([
    [logLevel.ERROR, 50],
    [logLevel.WARN, 40],
    [logLevel.INFO, 30],
    [logLevel.DEBUG, 20],
  ])('kafkajs level %i -> pino level %i, with the component and the fields', (level, pinoLevel) => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
    kafkaLogCreator(logger)(logLevel.DEBUG)({
      namespace: 'Connection',
      level,
      label: 'x',
      log: { timestamp: 't', message: 'broker down', broker: 'b:9092' },
    });
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      level: pinoLevel,
      component: 'kafkajs',
      msg: 'broker down',
      broker: 'b:9092',
    });
  });
});
