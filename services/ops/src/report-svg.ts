/**
 * Server-side SVG from an ECharts option. ECharts because its SSR mode is pure JavaScript (no
 * canvas, no native build, no browser) in one package, and the SVG it writes needs nothing at
 * view time: the HTML report stays self-contained and prints as vectors. No I/O.
 */
import * as echarts from 'echarts';

export const PALETTE = ['#3465a4', '#e07b24', '#4e9a06', '#c4302b', '#75507b', '#888a85', '#06989a'];

export function renderSvg(option: echarts.EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: 'DejaVu Sans, Helvetica, Arial, sans-serif', fontSize: 11 },
      ...option,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export type ChartOption = echarts.EChartsOption;
