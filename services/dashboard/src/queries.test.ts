import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IsoDay } from './dates.js';
import { dateLiteral, isComponent, sqlFor } from './queries.js';
import { sqlCases } from './queries.cases.fixture.js';

/**
 * sha256 (first 16 hex digits) of every SQL text of sqlCases(), computed from the code before
 * sqlFor was split into per-panel builders (issue 26): the text must not change by a byte.
 */
const EXPECTED: Record<string, string> = {
  'parsl_usage lastDay': 'a88e2192fd4720aa',
  'parsl_usage lastInserted': '718445004e632eac',
  'parsl_usage r0 projectCount': 'aead0bbdaf5c9ca3',
  'parsl_usage r0 execTime': '2f7145a50da0624a',
  'parsl_usage r0 installAge': 'e3a595badd0bb993',
  'parsl_usage r0 dayRelease': 'd897b7ba5a9ca043',
  'parsl_usage r0 day componentRuns': 'fb150b4701b63c97',
  'parsl_usage r0 day workflows u0': '4391950fac846e5c',
  'parsl_usage r0 day workflows u7': '0df23c301826399a',
  'parsl_usage r0 day workflows u30': '73204fa27deaa280',
  'parsl_usage r0 day dimension python_minor': '1cde182fcf2b5872',
  'parsl_usage r0 day dimension parsl_version': '88a73445eb30187c',
  'parsl_usage r0 day dimension platform': '7f4e78134870da4e',
  'parsl_usage r0 day dimension tracking_level': '420d2c1a98c398fa',
  'parsl_usage r0 day dimension executor': '628ad964c903f8c7',
  'parsl_usage r0 day dimension provider': '0f89cd3429a7bc4e',
  'parsl_usage r0 day dimension launcher': '9f82f449ecdc700f',
  'parsl_usage r0 week componentRuns': 'd10be1e2cca9cc01',
  'parsl_usage r0 week workflows u0': 'af3e81c593d02879',
  'parsl_usage r0 week workflows u7': '412231cf97829845',
  'parsl_usage r0 week workflows u30': '9c3b2e47750453a1',
  'parsl_usage r0 week dimension python_minor': '8c17178aa0e1cbe3',
  'parsl_usage r0 week dimension parsl_version': '0a8aced55655028e',
  'parsl_usage r0 week dimension platform': 'adf67ae85066b252',
  'parsl_usage r0 week dimension tracking_level': 'ca07eafc55eef49c',
  'parsl_usage r0 week dimension executor': 'be9a018ee5f9165d',
  'parsl_usage r0 week dimension provider': '1b8990c1b8164a4d',
  'parsl_usage r0 week dimension launcher': '91a203c96abedfa0',
  'parsl_usage r0 month componentRuns': 'd94941dd6af848d0',
  'parsl_usage r0 month workflows u0': '03e429a3cbef09f6',
  'parsl_usage r0 month workflows u7': 'da5bfa03774d68c8',
  'parsl_usage r0 month workflows u30': '6f598cbf06df0ad8',
  'parsl_usage r0 month dimension python_minor': 'b8b2a5cefffab5bd',
  'parsl_usage r0 month dimension parsl_version': '301285e0386cf747',
  'parsl_usage r0 month dimension platform': 'e4c86120e5e90933',
  'parsl_usage r0 month dimension tracking_level': '13bb1afa91b39db4',
  'parsl_usage r0 month dimension executor': '27c87ce475a06eeb',
  'parsl_usage r0 month dimension provider': 'dd9db5d5ff138080',
  'parsl_usage r0 month dimension launcher': '0d70fe8f25855221',
  'parsl_usage r0 leaderboard top1 default': 'a0c4c81f74bde15a',
  'parsl_usage r0 leaderboard top1 k1': 'a0c4c81f74bde15a',
  'parsl_usage r0 leaderboard top1 k2': '3502510dd98c793f',
  'parsl_usage r0 leaderboard top1 k5': '222dcfc07f2b037a',
  'parsl_usage r0 leaderboardEveryDay top1': 'fa9c9a9123b913a6',
  'parsl_usage r0 leaderboard top8 default': 'd73d4c58cf8ac8b6',
  'parsl_usage r0 leaderboard top8 k1': 'd73d4c58cf8ac8b6',
  'parsl_usage r0 leaderboard top8 k2': '366e53cf5598c4d5',
  'parsl_usage r0 leaderboard top8 k5': '93dc385a67c610d8',
  'parsl_usage r0 leaderboardEveryDay top8': 'eb864b40be689cf6',
  'parsl_usage r0 leaderboard top50 default': '38ddc4ee1a24346c',
  'parsl_usage r0 leaderboard top50 k1': '38ddc4ee1a24346c',
  'parsl_usage r0 leaderboard top50 k2': 'e853b0e5ac01c2c4',
  'parsl_usage r0 leaderboard top50 k5': '6bd079e6d79ac8e1',
  'parsl_usage r0 leaderboardEveryDay top50': 'bd83ca450ed46539',
  'parsl_usage r0 projectsUnder k1': 'dd7b7d5030573fed',
  'parsl_usage r0 projectsUnder k5': '08ccc3ae46591a7e',
  'parsl_usage r0 projectsUnder k100': 'cc22ecfe3c0da347',
  'parsl_usage r1 projectCount': '37949970351cd551',
  'parsl_usage r1 execTime': '4a86f47a1f9b4329',
  'parsl_usage r1 installAge': '26e67c7de1115028',
  'parsl_usage r1 dayRelease': '230671a2e2910842',
  'parsl_usage r1 day componentRuns': 'bd3670fbe42180a0',
  'parsl_usage r1 day workflows u0': 'e23b71853d27bf3d',
  'parsl_usage r1 day workflows u7': '9fa6e7359fd6ec72',
  'parsl_usage r1 day workflows u30': 'f7f452422b9c4abf',
  'parsl_usage r1 day dimension python_minor': 'b62264c0a6841466',
  'parsl_usage r1 day dimension parsl_version': '69d1a8eac89d2b74',
  'parsl_usage r1 day dimension platform': '6c190e699407f20e',
  'parsl_usage r1 day dimension tracking_level': '45de697beb83ab77',
  'parsl_usage r1 day dimension executor': '1912198ed296aedb',
  'parsl_usage r1 day dimension provider': '81a1829c129e117d',
  'parsl_usage r1 day dimension launcher': 'b74ab4a71e7cb377',
  'parsl_usage r1 week componentRuns': '61260108c34cc810',
  'parsl_usage r1 week workflows u0': '4b86d337aa26d670',
  'parsl_usage r1 week workflows u7': 'c9dd8197ef72a241',
  'parsl_usage r1 week workflows u30': '37981c3405b73aa2',
  'parsl_usage r1 week dimension python_minor': 'af0dd556b7fc03d4',
  'parsl_usage r1 week dimension parsl_version': '533ee1c00af133c0',
  'parsl_usage r1 week dimension platform': '0e6afc243ef431c5',
  'parsl_usage r1 week dimension tracking_level': '566ccd981b48560a',
  'parsl_usage r1 week dimension executor': '95d09520a00d9d98',
  'parsl_usage r1 week dimension provider': 'a2ce1bdcb44bee43',
  'parsl_usage r1 week dimension launcher': 'f92beb618f2bb048',
  'parsl_usage r1 month componentRuns': '093001ca3e50c60f',
  'parsl_usage r1 month workflows u0': 'a2c6e24bad974830',
  'parsl_usage r1 month workflows u7': '5c78e45ee17e1c89',
  'parsl_usage r1 month workflows u30': '9b23cc3eeddaa1e0',
  'parsl_usage r1 month dimension python_minor': '158b11e0c6798ade',
  'parsl_usage r1 month dimension parsl_version': '8d3bdad44223761a',
  'parsl_usage r1 month dimension platform': '4c5f4402c7d6c6c2',
  'parsl_usage r1 month dimension tracking_level': 'dccdad1179b4bf47',
  'parsl_usage r1 month dimension executor': 'df67d699d584fd1d',
  'parsl_usage r1 month dimension provider': '0acfa0ccce93bf99',
  'parsl_usage r1 month dimension launcher': '135272bf7bcc6648',
  'parsl_usage r1 leaderboard top1 default': 'ac9ee3143d42ad90',
  'parsl_usage r1 leaderboard top1 k1': 'ac9ee3143d42ad90',
  'parsl_usage r1 leaderboard top1 k2': 'b8d11ed9a01225b9',
  'parsl_usage r1 leaderboard top1 k5': '47e8afa38142a597',
  'parsl_usage r1 leaderboardEveryDay top1': 'aa804e7f24d674e2',
  'parsl_usage r1 leaderboard top8 default': 'd43eccff906ba3ce',
  'parsl_usage r1 leaderboard top8 k1': 'd43eccff906ba3ce',
  'parsl_usage r1 leaderboard top8 k2': '76d2a4016cc07983',
  'parsl_usage r1 leaderboard top8 k5': 'a68febafb3c306bb',
  'parsl_usage r1 leaderboardEveryDay top8': 'f55996a7a9558459',
  'parsl_usage r1 leaderboard top50 default': 'e548fc91dd1d53f3',
  'parsl_usage r1 leaderboard top50 k1': 'e548fc91dd1d53f3',
  'parsl_usage r1 leaderboard top50 k2': '30b189ec4647db00',
  'parsl_usage r1 leaderboard top50 k5': 'dfe98a55c5459def',
  'parsl_usage r1 leaderboardEveryDay top50': '9fd9cc2d399e2f5a',
  'parsl_usage r1 projectsUnder k1': '0fe243d8eb14af5f',
  'parsl_usage r1 projectsUnder k5': 'b49d24b7e801fd6d',
  'parsl_usage r1 projectsUnder k100': '05cdd0e50645d23c',
  'db_2 lastDay': 'd2f9af55c22ff7aa',
  'db_2 lastInserted': 'd395b14b3f60e4c4',
  'db_2 r0 projectCount': '8db4e463fda7c84a',
  'db_2 r0 execTime': '8c57dfdb099e9313',
  'db_2 r0 installAge': 'cb3246243d1a9fc7',
  'db_2 r0 dayRelease': '1b583e3af26a59c2',
  'db_2 r0 day componentRuns': '6963b661c40fa4b1',
  'db_2 r0 day workflows u0': 'db3db747685d43ee',
  'db_2 r0 day workflows u7': '15d1d902581c3d64',
  'db_2 r0 day workflows u30': 'f0bd26d315698d82',
  'db_2 r0 day dimension python_minor': 'a5bbc1749aa609ef',
  'db_2 r0 day dimension parsl_version': 'dded956aba22b327',
  'db_2 r0 day dimension platform': 'fc54e01587f8f504',
  'db_2 r0 day dimension tracking_level': '4ef8c0a005f979c1',
  'db_2 r0 day dimension executor': '3d522551f62667f6',
  'db_2 r0 day dimension provider': '11379afe04bd9a89',
  'db_2 r0 day dimension launcher': 'eb20d78a8cce5cb0',
  'db_2 r0 week componentRuns': 'e7465a5b4c663958',
  'db_2 r0 week workflows u0': '0d3ccb6ebaecefe2',
  'db_2 r0 week workflows u7': 'b57a00438a7e66c1',
  'db_2 r0 week workflows u30': '0e6ddfe5873daf77',
  'db_2 r0 week dimension python_minor': '48047539190adcad',
  'db_2 r0 week dimension parsl_version': 'fb9ab268e3874dc1',
  'db_2 r0 week dimension platform': 'cee91ddaa4a85945',
  'db_2 r0 week dimension tracking_level': 'e7b518cbcca036f8',
  'db_2 r0 week dimension executor': '55ff25983be515a3',
  'db_2 r0 week dimension provider': '90e0eb1d538621ea',
  'db_2 r0 week dimension launcher': '1612573d62620465',
  'db_2 r0 month componentRuns': 'ad30a070eeb8aaf2',
  'db_2 r0 month workflows u0': '9c01b4fd22966c14',
  'db_2 r0 month workflows u7': 'c2321c048072e495',
  'db_2 r0 month workflows u30': 'c1f7e130622c641f',
  'db_2 r0 month dimension python_minor': '50e91ab393b8089d',
  'db_2 r0 month dimension parsl_version': '47089892217ac7a0',
  'db_2 r0 month dimension platform': '539147ea58f75dab',
  'db_2 r0 month dimension tracking_level': '6af4a5865444e71d',
  'db_2 r0 month dimension executor': '317b294b1582f79c',
  'db_2 r0 month dimension provider': '726c131513ec6b43',
  'db_2 r0 month dimension launcher': 'ebd0fbbda856a797',
  'db_2 r0 leaderboard top1 default': '1b08caf33f888d06',
  'db_2 r0 leaderboard top1 k1': '1b08caf33f888d06',
  'db_2 r0 leaderboard top1 k2': '05cd81b8be8d82e6',
  'db_2 r0 leaderboard top1 k5': '53855a3276f182db',
  'db_2 r0 leaderboardEveryDay top1': '352ddea73f2723b9',
  'db_2 r0 leaderboard top8 default': 'ee2f5931b0a90d4b',
  'db_2 r0 leaderboard top8 k1': 'ee2f5931b0a90d4b',
  'db_2 r0 leaderboard top8 k2': '968aaeada22412e8',
  'db_2 r0 leaderboard top8 k5': 'cb2fad51f4132e20',
  'db_2 r0 leaderboardEveryDay top8': '1fe89b1196645188',
  'db_2 r0 leaderboard top50 default': '048333af18826e17',
  'db_2 r0 leaderboard top50 k1': '048333af18826e17',
  'db_2 r0 leaderboard top50 k2': 'a6cbf49f49a6b74d',
  'db_2 r0 leaderboard top50 k5': '67ad0460e9865b3c',
  'db_2 r0 leaderboardEveryDay top50': 'ded9aa685ad2f7ff',
  'db_2 r0 projectsUnder k1': '78c6174532143abe',
  'db_2 r0 projectsUnder k5': 'aed06da57a45ceea',
  'db_2 r0 projectsUnder k100': 'cfc2556b2b59c35f',
  'db_2 r1 projectCount': 'f03660de95f7b9d4',
  'db_2 r1 execTime': '36bb1f343028fd8d',
  'db_2 r1 installAge': 'f71a91a0e3cbeabb',
  'db_2 r1 dayRelease': '46bbca9043bebf73',
  'db_2 r1 day componentRuns': '9b7566692ffe6485',
  'db_2 r1 day workflows u0': 'ddf1bf20d905e9ab',
  'db_2 r1 day workflows u7': 'e9bc219ad275b7f9',
  'db_2 r1 day workflows u30': 'a5ce66439f3c6ae9',
  'db_2 r1 day dimension python_minor': '037b7e556457f198',
  'db_2 r1 day dimension parsl_version': '88b35d38edf8102f',
  'db_2 r1 day dimension platform': '754a8a9008a1e6d0',
  'db_2 r1 day dimension tracking_level': '2741a9ff6473e645',
  'db_2 r1 day dimension executor': 'de073cbbe97e231b',
  'db_2 r1 day dimension provider': 'a27baa9c4bbe31cf',
  'db_2 r1 day dimension launcher': '403cd589501b2877',
  'db_2 r1 week componentRuns': 'f5f5a2b8c412435b',
  'db_2 r1 week workflows u0': '573af8586c7f07e7',
  'db_2 r1 week workflows u7': 'a3bd88f26383c60f',
  'db_2 r1 week workflows u30': '12178356d51bed42',
  'db_2 r1 week dimension python_minor': '8eff45c6a67b5271',
  'db_2 r1 week dimension parsl_version': '1cf2739e0eb0ed76',
  'db_2 r1 week dimension platform': 'a383a8db2d890617',
  'db_2 r1 week dimension tracking_level': '2d3885a526fc3a02',
  'db_2 r1 week dimension executor': '1e538c9907cd8126',
  'db_2 r1 week dimension provider': 'a8c601b6f5797570',
  'db_2 r1 week dimension launcher': 'fd6abcced20f11f2',
  'db_2 r1 month componentRuns': '9247e58f9af62df0',
  'db_2 r1 month workflows u0': '8c309ddd28f02e51',
  'db_2 r1 month workflows u7': 'f69e34a4aa86868e',
  'db_2 r1 month workflows u30': '77cfde3e83fe33b1',
  'db_2 r1 month dimension python_minor': '07b077ac1d900f01',
  'db_2 r1 month dimension parsl_version': '1cc982c64d52019e',
  'db_2 r1 month dimension platform': '522e04051f162851',
  'db_2 r1 month dimension tracking_level': '9f786cc2c3ccf78b',
  'db_2 r1 month dimension executor': '0dc112e34c90de76',
  'db_2 r1 month dimension provider': 'bf1636c121962c7b',
  'db_2 r1 month dimension launcher': '8d8629963bf16b7e',
  'db_2 r1 leaderboard top1 default': 'a77813f7c136ae9e',
  'db_2 r1 leaderboard top1 k1': 'a77813f7c136ae9e',
  'db_2 r1 leaderboard top1 k2': 'ba158918ea629fb0',
  'db_2 r1 leaderboard top1 k5': 'ec9d9277210484df',
  'db_2 r1 leaderboardEveryDay top1': 'b85a7b0d71e47a8c',
  'db_2 r1 leaderboard top8 default': '99a7ebb3965826c6',
  'db_2 r1 leaderboard top8 k1': '99a7ebb3965826c6',
  'db_2 r1 leaderboard top8 k2': '16882534890eea72',
  'db_2 r1 leaderboard top8 k5': 'bd8eaeb9bb418b52',
  'db_2 r1 leaderboardEveryDay top8': 'a01b8aacf37160e2',
  'db_2 r1 leaderboard top50 default': '31d022d52e090192',
  'db_2 r1 leaderboard top50 k1': '31d022d52e090192',
  'db_2 r1 leaderboard top50 k2': '9b552bbe566708f2',
  'db_2 r1 leaderboard top50 k5': 'ecda7a0b0ddd1265',
  'db_2 r1 leaderboardEveryDay top50': 'b70b6c8d4a7a036e',
  'db_2 r1 projectsUnder k1': 'e79306960438fabe',
  'db_2 r1 projectsUnder k5': '2e3fcfb79bb2887e',
  'db_2 r1 projectsUnder k100': 'a63202c6e2ab4133',
};

const digest = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);

describe('sqlFor', () => {
  const cases = sqlCases();

  it('builds every case of the table', () => {
    expect(cases.map(([name]) => name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(cases)('%s: the same text as before', (name, sql) => {
    expect(digest(sql)).toBe(EXPECTED[name]);
  });

  it('spells out the execution-time query', () => {
    expect(sqlFor('parsl_usage').execTime({ from: '2026-01-01' as IsoDay, to: '2026-01-31' as IsoDay })).toBe(
      `SELECT bucket, sum(workflows) AS runs
FROM parsl_usage.rollup_exec_time
WHERE is_test = 0 AND day >= toDate('2026-01-01') AND day <= toDate('2026-01-31')
GROUP BY bucket
HAVING runs != 0
ORDER BY bucket ASC`,
    );
  });

  it('spells out a component dimension query', () => {
    expect(
      sqlFor('db_2').dimension(
        { from: '2024-02-29' as IsoDay, to: '2026-12-31' as IsoDay },
        'week',
        'executor',
      ),
    ).toBe(
      `SELECT toMonday(day) AS period, component AS value,
    sum(workflows) AS runs, sum(apps) AS apps, sum(app_fails) AS app_fails
FROM db_2.rollup_daily_component
WHERE kind = 'executor' AND is_test = 0 AND day >= toDate('2024-02-29') AND day <= toDate('2026-12-31')
GROUP BY period, value
HAVING runs != 0
ORDER BY period ASC, value ASC`,
    );
  });

  it.each(['parsl_usage; DROP TABLE x', 'a.b', '', '1abc'])('refuses the database %j', (db) => {
    expect(() => sqlFor(db)).toThrow('is not an identifier');
  });

  it('refuses a day that is not checked', () => {
    expect(() =>
      sqlFor('db').execTime({ from: "2026-01-01') OR 1=1 --" as IsoDay, to: '2026-01-31' as IsoDay }),
    ).toThrow('not a checked day');
  });

  it.each([1.5, Number.NaN, 2 ** 60])('refuses the non-integer %s', (n) => {
    const r = { from: '2026-01-01' as IsoDay, to: '2026-01-31' as IsoDay };
    expect(() => sqlFor('db').leaderboard(r, n)).toThrow('not an integer');
    expect(() => sqlFor('db').workflows(r, 'day', n)).toThrow('not an integer');
  });
});

describe('dateLiteral', () => {
  it('quotes a checked day', () => {
    expect(dateLiteral('2026-03-01' as IsoDay)).toBe("toDate('2026-03-01')");
  });

  it.each(['2026-02-30', '2026-1-01', "x'"])('refuses %j', (s) => {
    expect(() => dateLiteral(s as IsoDay)).toThrow('not a checked day');
  });
});

describe('isComponent', () => {
  it.each([
    ['executor', true],
    ['provider', true],
    ['launcher', true],
    ['python_minor', false],
    ['parsl_version', false],
    ['platform', false],
    ['tracking_level', false],
  ] as const)('%s: %s', (d, expected) => {
    expect(isComponent(d)).toBe(expected);
  });
});
