import { describe, expect, it } from 'vitest';
import { V1_BY_PATH } from './endpoints.js';
import { publicAnswer } from './public-answer.js';

const endpoint = (path: string) => {
  const e = V1_BY_PATH.get(path);
  if (!e) throw new Error(path);
  return e;
};

describe('publicAnswer', () => {
  it('headline: the arrival time becomes its day, the computation time goes', () => {
    const a = {
      panel: 'headline',
      params: { from: '2026-01-01', to: '2026-01-31' },
      columns: ['metric', 'value'],
      rows: [
        ['runs', 3],
        ['last_inserted_at', '2026-01-30T17:09:28.000Z'],
      ],
      chart: {},
      summary: { runs: 3, last_inserted_at: '2026-01-30T17:09:28.000Z', last_day: '2026-01-30' },
      generatedAt: '2026-01-31T00:00:01.000Z',
    };
    expect(publicAnswer(endpoint('/headline'), a)).toEqual({
      endpoint: '/api/v1/headline',
      params: a.params,
      columns: a.columns,
      rows: [
        ['runs', 3],
        ['last_inserted_day', '2026-01-30'],
      ],
      chart: {},
      summary: { runs: 3, last_inserted_day: '2026-01-30', last_day: '2026-01-30' },
    });
  });

  it('no arrival time stays null', () => {
    const got = publicAnswer(endpoint('/headline'), {
      panel: 'headline',
      params: {},
      columns: ['metric', 'value'],
      rows: [['last_inserted_at', null]],
      chart: {},
      summary: { last_inserted_at: null },
    });
    expect(got.summary).toEqual({ last_inserted_day: null });
    expect(got.rows).toEqual([['last_inserted_day', null]]);
  });

  it('other panels: the same table, under the endpoint name', () => {
    const a = {
      panel: 'dimension',
      params: { dimension: 'platform' },
      columns: ['rank', 'platform'],
      rows: [[1, 'linux']],
      chart: { periods: [] },
    };
    expect(publicAnswer(endpoint('/platforms'), a)).toEqual({
      endpoint: '/api/v1/platforms',
      params: a.params,
      columns: a.columns,
      rows: a.rows,
      chart: a.chart,
    });
  });
});
