/** The CSV of a panel's table (the /api/<panel>.csv download). */
import type { Cell } from './panel-computation.js';

/**
 * RFC 4180 CSV. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR at the
 * start; project names come from Parsl users) is prefixed with ' so it stays text.
 */
export function toCsv(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cell = (c: Cell): string => {
    if (c === null) return '';
    if (typeof c !== 'string') return String(c);
    const s = /^[=+\-@\t\r]/.test(c) ? `'${c}` : c;
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [columns, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
