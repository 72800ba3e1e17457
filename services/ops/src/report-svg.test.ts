import { describe, expect, it } from 'vitest';
import { PALETTE, renderSvg } from './report-svg.js';

const bars = {
  xAxis: { type: 'category' as const, data: ['a', 'b'] },
  yAxis: { type: 'value' as const },
  series: [{ type: 'bar' as const, data: [3, 5] }],
};

describe('renderSvg', () => {
  it.each([
    [680, 260],
    [150, 30],
  ])('a standalone SVG of %i x %i px', (width, height) => {
    const svg = renderSvg(bars, width, height);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain(`width="${width}"`);
    expect(svg).toContain(`height="${height}"`);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // Nothing to fetch or run at view time.
    expect(svg).not.toMatch(/<script|<image|href="http/);
  });

  it('draws in the palette, first colour first', () => {
    const svg = renderSvg(bars, 300, 200);
    expect(svg.toLowerCase()).toContain(`fill="${PALETTE[0]}"`);
    const two = renderSvg(
      { ...bars, series: [...bars.series, { type: 'bar' as const, data: [1, 2] }] },
      300,
      200,
    );
    expect(two.toLowerCase()).toContain(`fill="${PALETTE[1]}"`);
  });

  it('lets an option choose its own colours', () => {
    const svg = renderSvg({ ...bars, color: ['#123456'] }, 300, 200);
    expect(svg.toLowerCase()).toContain('fill="#123456"');
    expect(svg.toLowerCase()).not.toContain(`fill="${PALETTE[0]}"`);
  });

  it('draws the same option the same way every time (no animation state)', () => {
    // Each chart numbers its CSS classes (zr<instance>-cls-<n>) apart from the others on a page.
    const drawing = (svg: string) => svg.replace(/zr\d+-cls-\d+/g, 'zr-cls');
    expect(drawing(renderSvg(bars, 300, 200))).toBe(drawing(renderSvg(bars, 300, 200)));
  });
});
