const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * The one ClickHouse string literal of the project (18.16 has no query parameters): backslash
 * escapes, single quotes, and \xHH for NUL and the other ASCII control characters (both 18.16
 * and current releases read \xHH in literals). Every other character goes through as UTF-8.
 */
export function quoteString(s: string): string {
  return `'${s.replace(/[\\'\u0000-\u001f\u007f]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}
