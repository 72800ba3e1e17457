import { describe, expect, it } from 'vitest';
import { cachedAnswer } from './panel-answer-cache.js';
import type { PanelAnswer } from './panel-computation.js';

const ANSWER: PanelAnswer = {
  panel: 'headline',
  params: { from: '2026-01-01', to: '2026-01-31' },
  columns: ['metric', 'value'],
  rows: [
    ['runs', 3],
    ['failure_rate', null],
  ],
  chart: {},
  summary: { runs: 3, failure_rate: null },
};

describe('cachedAnswer', () => {
  const kept = cachedAnswer(ANSWER, Date.UTC(2026, 0, 31, 12, 0, 0));

  it('stamps the answer with the time it was made', () => {
    expect(kept.answer).toEqual({ ...ANSWER, generatedAt: '2026-01-31T12:00:00.000Z' });
  });

  it('keeps the JSON of exactly that answer, and no CSV until one is asked for', () => {
    expect(JSON.parse(kept.json.toString('utf8'))).toEqual(kept.answer);
    expect(kept.json.toString('utf8')).toBe(JSON.stringify(kept.answer));
    expect(kept.csv).toBeUndefined();
  });

  it('leaves the computed answer as it was', () => {
    expect(ANSWER).not.toHaveProperty('generatedAt');
  });
});
