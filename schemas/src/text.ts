/**
 * The one text rule: every string the decoder accepts from a datagram passes through
 * `cleanText`, and what comes out is what ClickHouse stores and returns byte for byte.
 *
 * 1. Lone UTF-16 surrogates (a JSON escape such as "\ud800" without its partner, which
 *    Python's surrogateescape can produce) become U+FFFD. ClickHouse 18.16 refuses a lone
 *    high surrogate in a JSONEachRow insert (Code 25) and stores a lone low one as bytes that
 *    read back as U+FFFD, so either would break the insert or the exact retraction.
 * 2. C0 controls (U+0000-U+001F), DEL (U+007F) and C1 controls (U+0080-U+009F) are removed.
 *    NUL cannot be named in a forget-project request, and no Parsl field (versions, platform,
 *    class names, project names) has a meaningful control character. Removing rather than
 *    replacing keeps "my\u0000project" and "myproject" the same project.
 * 3. Leading and trailing white space is trimmed (JavaScript's trim: Unicode white space and
 *    line terminators), blank becomes null.
 * 4. The result is cut to the field's cap in code points, never inside a surrogate pair, and
 *    trimmed again at the end.
 *
 * The rule is idempotent: cleanText(cleanText(x)) === cleanText(x) (a property test checks it).
 */

/** Longest text kept, in code points, per kind of field (ClickHouse rows stay small). */
export const TEXT_CAPS = {
  /** project_name: Config.project_name, free text chosen by the user */
  project: 256,
  /** parsl_v, python_v: "2025.03.17", "3.12.2"; Parsl's are under 20 */
  version: 64,
  /** platform.system / os: "Linux", "Darwin" */
  platform: 64,
  /** legacy os_v, platform.release(): "5.15.0-1034-aws" */
  osRelease: 128,
  /** a component's fully qualified class name */
  className: 256,
  /** a component attribute's name */
  attrName: 64,
  /** a component attribute's text value */
  attrValue: 256,
} as const;
export type TextField = keyof typeof TEXT_CAPS;

/** Longest text kept from any client string, in code points (the largest cap above). */
export const MAX_TEXT_CHARS = 256;

/** Lone surrogates -> U+FFFD; C0, DEL and C1 controls removed. Keeps well-formed pairs. */
export function wellFormedText(value: string): string {
  let out = '';
  let from = 0; // start of the run of characters copied unchanged
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    let replacement: string | null = null;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) replacement = '';
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1); // NaN past the end
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1; // a pair: keep both halves
        continue;
      }
      replacement = '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) replacement = '\ufffd';
    if (replacement === null) continue;
    out += value.slice(from, i) + replacement;
    from = i + 1;
  }
  return from === 0 ? value : out + value.slice(from);
}

/** The text rule (see above); null for absent or blank. */
export function cleanText(
  value: string | null | undefined,
  maxChars: number = MAX_TEXT_CHARS,
): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = wellFormedText(value).trim();
  if (trimmed === '') return null;
  if (trimmed.length <= maxChars) return trimmed;
  // Slice by code points, not UTF-16 units, so a cut never leaves half a surrogate pair.
  const cut = Array.from(trimmed).slice(0, maxChars).join('').trimEnd();
  return cut === '' ? null : cut;
}

/** cleanText with the cap of a named field. */
export function cleanField(value: string | null | undefined, field: TextField): string | null {
  return cleanText(value, TEXT_CAPS[field]);
}
