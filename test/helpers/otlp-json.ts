/**
 * Normalises OTLP/JSON (or protobufjs's JSON view of OTLP protobuf) so that equal content written by
 * different writers compares equal: defaults dropped, ids as lower-case hex, AnyValues in one form.
 */

export const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === 0 || v === '' || v === '0') return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v as object).length === 0;
}

/**
 * Drops defaults (0, '', empty lists and messages) and `schemaUrl` (spanline has no field for it), makes
 * ids lower-case hex (from base64 when `base64Ids`), and writes AnyValues canonically: the member is kept
 * even when it is a default, intValue as a decimal string, an array or map as `{values: [...]}`.
 */
export function normaliseOtlpJson(v: unknown, base64Ids = false, key = ''): unknown {
  if (key === 'value') return normaliseAnyValue(v as Record<string, unknown> | undefined, base64Ids);
  if (ID_KEYS.has(key) && typeof v === 'string') return base64Ids ? Buffer.from(v, 'base64').toString('hex') : v.toLowerCase();
  if (Array.isArray(v)) return v.map((x) => normaliseOtlpJson(x, base64Ids));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'schemaUrl') continue;
      const n = normaliseOtlpJson(x, base64Ids, k);
      if (!isEmptyValue(n)) out[k] = n;
    }
    return out;
  }
  return v;
}

function normaliseAnyValue(v: Record<string, unknown> | undefined, base64Ids: boolean): unknown {
  if (v == null) return {};
  if ('intValue' in v) return { intValue: String(v.intValue) };
  if ('arrayValue' in v) {
    const values = ((v.arrayValue as { values?: unknown[] }).values ?? []) as Record<string, unknown>[];
    return { arrayValue: { values: values.map((x) => normaliseAnyValue(x, base64Ids)) } };
  }
  if ('kvlistValue' in v) {
    const values = (v.kvlistValue as { values?: unknown[] }).values ?? [];
    return { kvlistValue: { values: values.map((x) => normaliseOtlpJson(x, base64Ids)) } };
  }
  return { ...v };
}
