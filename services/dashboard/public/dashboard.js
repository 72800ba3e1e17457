// The dashboard page: reads the controls, asks the API of this origin for every panel and draws
// it with Chart.js (served by the dashboard itself). Text from the data (project names, versions)
// only ever goes into textContent, never into HTML.
/* global Chart */
'use strict';

const COLORS = [
  '#2d6cdf',
  '#e8710a',
  '#1e8e3e',
  '#d93025',
  '#9334e6',
  '#12b5cb',
  '#f9ab00',
  '#5f6368',
  '#a142f4',
  '#24c1e0',
];
const TABLE_ROWS = 15;
/** A line with at most this many points gets markers: one day alone is otherwise invisible. */
const FEW_POINTS = 12;
const MARKER_RADIUS = 3;

/** Marker radius for a line series: visible points when there are few (values: numbers or null). */
function pointRadius(values) {
  return values.filter((v) => v !== null && v !== undefined).length <= FEW_POINTS ? MARKER_RADIUS : 0;
}
const charts = new Map();

const $ = (sel, root = document) => root.querySelector(sel);
const fmt = new Intl.NumberFormat('en-US');
const pct = (x) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

function defaults() {
  const form = $('#controls');
  const url = new URL(location.href);
  const to = url.searchParams.get('to') || isoDay(new Date());
  const from =
    url.searchParams.get('from') || isoDay(new Date(Date.parse(`${to}T00:00:00Z`) - 364 * 86400000));
  form.from.value = from;
  form.to.value = to;
  form.granularity.value = url.searchParams.get('granularity') || 'week';
  form.top.value = url.searchParams.get('top') || '8';
}

function paramsFor(section) {
  const form = $('#controls');
  const panel = section.dataset.panel;
  const p = new URLSearchParams({ from: form.from.value, to: form.to.value });
  if (['workflows', 'apps', 'dimension', 'adoption'].includes(panel))
    p.set('granularity', form.granularity.value);
  if (['dimension', 'adoption', 'leaderboard'].includes(panel)) p.set('top', form.top.value);
  if (panel === 'dimension') p.set('dimension', section.dataset.dimension);
  return p;
}

/** The public API's endpoint of each panel (docs/API.md): the page reads the published API. */
const V1_PATH = {
  headline: '/headline',
  workflows: '/workflows',
  apps: '/apps',
  'exec-time': '/execution-time',
  'install-age': '/install-age',
  adoption: '/release-adoption',
  'release-health': '/release-health',
  leaderboard: '/leaderboard',
};
const V1_DIMENSION_PATH = {
  python_minor: '/versions/python',
  parsl_version: '/versions/parsl',
  platform: '/platforms',
  tracking_level: '/tracking-levels',
  executor: '/components/executors',
  provider: '/components/providers',
  launcher: '/components/launchers',
};

/** /api/v1/... of a section, with its parameters (the dimension is in the path there). */
function v1Url(section, params) {
  const panel = section.dataset.panel;
  const path = panel === 'dimension' ? V1_DIMENSION_PATH[section.dataset.dimension] : V1_PATH[panel];
  const p = new URLSearchParams(params);
  p.delete('dimension');
  return `/api/v1${path}?${p}`;
}

function draw(section, config) {
  const canvas = $('canvas', section);
  const old = charts.get(canvas);
  if (old) old.destroy();
  config.options = Object.assign(
    {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
    },
    config.options || {},
  );
  charts.set(canvas, new Chart(canvas, config));
}

function fillTable(section, columns, rows, cellClass) {
  const table = $('table', section);
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement('th');
    th.textContent = c.replaceAll('_', ' ');
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((v, i) => {
      const td = tr.insertCell();
      if (typeof v === 'number') {
        td.className = 'num';
        td.textContent = /share|rate/.test(columns[i]) ? pct(v) : fmt.format(v);
      } else td.textContent = v === null ? '–' : String(v);
      if (cellClass) {
        const cls = cellClass(columns[i], v);
        if (cls) td.classList.add(cls);
      }
    });
  }
}

const RENDER = {
  headline(section, data) {
    const s = data.summary;
    for (const el of section.querySelectorAll('[data-metric]')) {
      const v = s[el.dataset.metric];
      el.textContent = el.dataset.metric === 'failure_rate' ? pct(v) : fmt.format(v);
    }
    // Runs whose rows carry no insert time (e.g. loaded without inserted_at) still date the data.
    $('#updated').textContent = s.last_inserted_day
      ? `${s.last_inserted_day} (newest run day ${s.last_day})`
      : s.last_day
        ? `newest run day ${s.last_day}`
        : 'no data yet';
  },
  workflows(section, data) {
    const idx = (c) => data.columns.indexOf(c);
    const series = ['completed', 'launched', 'running', 'unfinished', 'closure_only'];
    draw(section, {
      type: 'bar',
      data: {
        labels: data.rows.map((r) => r[0]),
        datasets: series.map((name, i) => ({
          label: name.replace('_', ' '),
          data: data.rows.map((r) => r[idx(name)]),
          backgroundColor: COLORS[i],
        })),
      },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'runs' } } },
      },
    });
  },
  dimension(section, data) {
    draw(section, {
      type: 'line',
      data: {
        labels: data.chart.periods,
        datasets: data.chart.series.map((s, i) => ({
          label: s.label,
          data: s.shares.map((x) => (x === null ? null : 100 * x)),
          borderColor: COLORS[i % COLORS.length],
          backgroundColor: COLORS[i % COLORS.length],
          pointRadius: pointRadius(s.shares),
          borderWidth: 2,
          spanGaps: true,
        })),
      },
      options: {
        scales: { y: { min: 0, title: { display: true, text: `% of ${data.chart.shareBase}` } } },
        plugins: { legend: { labels: { boxWidth: 12 } } },
      },
    });
    fillTable(section, data.columns, data.rows.slice(0, Math.max(TABLE_ROWS, Number(data.params.top))));
  },
  apps(section, data) {
    draw(section, {
      type: 'bar',
      data: {
        labels: data.rows.map((r) => r[0]),
        datasets: [
          { label: 'apps', data: data.rows.map((r) => r[2]), backgroundColor: COLORS[0], yAxisID: 'y' },
          {
            type: 'line',
            label: 'failure rate %',
            data: data.rows.map((r) => (r[4] === null ? null : 100 * r[4])),
            borderColor: COLORS[3],
            backgroundColor: COLORS[3],
            yAxisID: 'y1',
            pointRadius: pointRadius(data.rows.map((r) => r[4])),
          },
        ],
      },
      options: {
        scales: {
          y: { title: { display: true, text: 'apps' } },
          y1: {
            position: 'right',
            min: 0,
            grid: { drawOnChartArea: false },
            title: { display: true, text: '% failed' },
          },
        },
      },
    });
  },
  'exec-time'(section, data) {
    const s = data.summary;
    $('[data-summary]', section).textContent =
      `${fmt.format(s.runs)} runs with a closure. Median ${dur(s.p50_s)}, 90th percentile ${dur(s.p90_s)}, 99th ${dur(s.p99_s)} (±10 %).`;
    draw(section, {
      type: 'bar',
      data: {
        labels: data.rows.map((r) => `${dur(r[1])}–${dur(r[2])}`),
        datasets: [{ label: 'runs', data: data.rows.map((r) => r[3]), backgroundColor: COLORS[0] }],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: 'execution time' } } },
      },
    });
  },
  'install-age'(section, data) {
    const s = data.summary;
    $('[data-summary]', section).textContent =
      `Days from the release of the installed Parsl to the run: median ${s.median_days ?? '–'}, 90th percentile ${s.p90_days ?? '–'} (${fmt.format(s.runs_known_age)} runs; ${fmt.format(s.runs_unknown_age)} with no date version).`;
    const known = data.rows.filter((r) => r[0] >= 0);
    draw(section, {
      type: 'bar',
      data: {
        labels: known.map((r) => String(r[0])),
        datasets: [{ label: 'runs', data: known.map((r) => r[1]), backgroundColor: COLORS[2] }],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: 'weeks since release' } } },
      },
    });
  },
  adoption(section, data) {
    draw(section, {
      type: 'line',
      data: {
        datasets: data.chart.releases.map((r, i) => ({
          label: r.release,
          data: r.points.map(([x, y]) => ({ x, y: y === null ? null : 100 * y })),
          borderColor: COLORS[i % COLORS.length],
          backgroundColor: COLORS[i % COLORS.length],
          pointRadius: pointRadius(r.points.map(([, y]) => y)),
          borderWidth: 2,
        })),
      },
      options: {
        interaction: { mode: 'nearest', intersect: false },
        scales: {
          x: { type: 'linear', min: 0, title: { display: true, text: 'days since release' } },
          y: { min: 0, max: 100, title: { display: true, text: '% of runs on it or newer' } },
        },
        plugins: { legend: { labels: { boxWidth: 12 } } },
      },
    });
    fillTable(
      section,
      ['release', 'days_to_half'],
      data.chart.releases.map((r) => [r.release, r.daysToHalf === null ? 'not yet' : r.daysToHalf]).reverse(),
    );
  },
  'release-health'(section, data) {
    const flagged = data.rows.filter((r) => r[7] === 'missing' || r[7] === 'collapsed');
    const flag = $('[data-flag]', section);
    flag.hidden = flagged.length === 0;
    flag.textContent = flagged.map((r) => `${r[0]}: ${r[7]} (${r[8]})`).join(' · ');
    fillTable(section, data.columns, data.rows, (col, v) => {
      if (col === 'status') return `status-${v}`;
      if (col === 'reason') return 'wrap';
      return '';
    });
  },
  leaderboard(section, data) {
    const s = data.summary;
    // Projects under K runs are counted, not named (docs/PRIVACY.md): one row for all of them.
    const other =
      s && s.other_projects > 0
        ? [
            [
              null,
              `other (${s.other_projects} under ${s.min_runs} runs)`,
              s.other_points,
              s.other_runs,
              s.other_apps,
              null,
              null,
              null,
            ],
          ]
        : [];
    fillTable(section, data.columns, [...data.rows, ...other]);
  },
};

function dur(s) {
  if (s === null || s === undefined) return '–';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(0)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

async function load(section) {
  section.dataset.state = 'loading';
  const params = paramsFor(section);
  const panel = section.dataset.panel;
  $('[data-csv]', section).href = `/api/${panel}.csv?${params}`;
  try {
    const res = await fetch(v1Url(section, params));
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || res.statusText);
    RENDER[panel](section, data);
    section.dataset.state = 'ready';
  } catch (err) {
    section.dataset.state = 'error';
    const e = $('#error');
    e.hidden = false;
    e.textContent = `${panel}: ${err.message}`;
  }
}

function loadAll() {
  $('#error').hidden = true;
  return Promise.all([...document.querySelectorAll('[data-panel]')].map(load));
}

document.addEventListener('DOMContentLoaded', () => {
  defaults();
  $('#controls').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const url = new URL(location.href);
    for (const k of ['from', 'to', 'granularity', 'top']) url.searchParams.set(k, form[k].value);
    history.replaceState(null, '', url);
    void loadAll();
  });
  void loadAll();
});
