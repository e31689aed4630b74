/**
 * The OTTL subset of the `filter` processor, one row per path, operator, enum, literal kind and type rule,
 * evaluated against one span (and its events) built field by field.
 */
import { describe, expect, it } from 'vitest';
import { newResource, Span, SpanKind, StatusCode } from '../../../src/model/span.js';
import { compileCondition, compareStrings, parseGoDuration, type EvalContext } from '../../../src/processors/filter/ottl-compile.js';
import { OttlError } from '../../../src/processors/filter/ottl-parse.js';

const START = 1_700_000_000_000_000_000n;

function sampleSpan(): Span {
  const resource = newResource({ 'service.name': 'checkout', 'deployment.environment': 'prod' });
  const sp = new Span(
    resource,
    {
      'http.method': 'GET',
      'http.status_code': 200n,
      ratio: 0.5,
      retry: true,
      empty: null,
      bytes: Uint8Array.of(1, 2),
      list: ['a', 'b'],
      map: { k: 'v', n: 1n },
      astral: '\u{1F600}',
      bmp_high: '\uFFFD',
    },
    [
      { timeUnixNano: START + 1000n, name: 'exception', attributes: { 'exception.type': 'IOError' }, droppedAttributesCount: 0 },
      { timeUnixNano: START + 2000n, name: 'cache.hit', attributes: {}, droppedAttributesCount: 0 },
    ],
  );
  sp.traceId = '463ac35c9f6413ad';
  sp.spanId = 'a2fb4a1d1a96d312';
  sp.name = 'GET /api/orders';
  sp.kind = SpanKind.Server;
  sp.status = { code: StatusCode.Error, message: 'boom' };
  sp.startTimeUnixNano = START;
  sp.endTimeUnixNano = START + 6_000_000_000n;
  sp.scope = { name: 'io.opentelemetry.http', version: '1.2.0', attributes: { lib: 'x' }, droppedAttributesCount: 0 };
  sp.droppedAttributesCount = 3;
  return sp;
}

function evalSpan(condition: string): boolean {
  const span = sampleSpan();
  return compileCondition(condition, 'span')({ span, event: undefined, eventIndex: 0 });
}

function evalEvent(condition: string, index: number): boolean {
  const span = sampleSpan();
  const c: EvalContext = { span, event: span.events[index], eventIndex: index };
  return compileCondition(condition, 'spanevent')(c);
}

describe('span context: paths, enums and literals', () => {
  it.each([
    ['name == "GET /api/orders"', true],
    ['name != "GET /api/orders"', false],
    ['span.name == "GET /api/orders"', true],
    ['kind == SPAN_KIND_SERVER', true],
    ['kind == SPAN_KIND_CLIENT', false],
    ['kind == 2', true],
    ['kind.string == "Server"', true],
    ['kind != SPAN_KIND_UNSPECIFIED and kind != SPAN_KIND_INTERNAL and kind != SPAN_KIND_PRODUCER and kind != SPAN_KIND_CONSUMER', true],
    ['status.code == STATUS_CODE_ERROR', true],
    ['status.code == STATUS_CODE_OK or status.code == STATUS_CODE_UNSET', false],
    ['status.message == "boom"', true],
    ['attributes["http.method"] == "GET"', true],
    ['resource.attributes["service.name"] == "checkout"', true],
    ['resource.attributes["service.name"] == "payments"', false],
    ['instrumentation_scope.name == "io.opentelemetry.http"', true],
    ['instrumentation_scope.version == "1.2.0"', true],
    ['scope.name == "io.opentelemetry.http" and scope.version == "1.2.0"', true],
    ['instrumentation_scope.attributes["lib"] == "x"', true],
    ['start_time_unix_nano == 1700000000000000000', true],
    ['end_time_unix_nano == 1700000006000000000', true],
    ['end_time_unix_nano > start_time_unix_nano', true],
    ['trace_id == TraceID(0x0000000000000000463ac35c9f6413ad)', true],
    ['trace_id != TraceID(0x0000000000000000463ac35c9f6413ae)', true],
    ['trace_id.string == "0000000000000000463ac35c9f6413ad"', true],
    ['span_id == SpanID(0xa2fb4a1d1a96d312)', true],
    ['span_id.string == "a2fb4a1d1a96d312"', true],
    ['parent_span_id == SpanID(0x0000000000000000)', true],
    ['parent_span_id.string == ""', true],
    ['dropped_attributes_count == 3', true],
    ['attributes["map"]["k"] == "v"', true],
    ['attributes["map"]["missing"] == nil', true],
    ['attributes["list"][1] == "b"', true],
    ['attributes["constructor"] == nil', true],
    ['true', true],
    ['false', false],
    ['nil == nil', true],
  ])('%s → %s', (condition, expected) => {
    expect(evalSpan(condition)).toBe(expected);
  });
});

describe('comparison rules, as OTTL compares', () => {
  it.each([
    // int vs int, int vs double: compared as float64
    ['attributes["http.status_code"] == 200', true],
    ['attributes["http.status_code"] == 200.0', true],
    ['attributes["http.status_code"] >= 199.5', true],
    ['attributes["http.status_code"] < 200.5', true],
    ['attributes["ratio"] == 0.5', true],
    ['attributes["ratio"] < 1', true],
    ['attributes["ratio"] > -.5', true],
    // different types: only "not equal"
    ['attributes["http.status_code"] == "200"', false],
    ['attributes["http.status_code"] != "200"', true],
    ['attributes["http.status_code"] < "300"', false],
    ['attributes["http.method"] == true', false],
    // a missing attribute is nil; an empty value is nil
    ['attributes["missing"] == nil', true],
    ['attributes["missing"] != nil', false],
    ['attributes["empty"] == nil', true],
    ['attributes["missing"] == "x"', false],
    ['attributes["missing"] != "x"', true],
    ['attributes["missing"] < 1', false],
    ['attributes["missing"] <= nil', false],
    // bools: false < true
    ['attributes["retry"] == true', true],
    ['attributes["retry"] > false', true],
    // bytes: byte for byte
    ['attributes["bytes"] == 0x0102', true],
    ['attributes["bytes"] < 0x0103', true],
    // strings: Go's byte order (code points), not UTF-16's
    ['attributes["astral"] > attributes["bmp_high"]', true],
    ['name > "A" and name < "GET /api/p"', true],
    // maps and lists: deep equality only
    ['attributes["map"] == attributes["map"]', true],
    ['attributes["map"] != attributes["list"]', true],
    ['attributes["map"] < attributes["map"]', false],
    ['attributes["list"] == attributes["list"]', true],
  ])('%s → %s', (condition, expected) => {
    expect(evalSpan(condition)).toBe(expected);
  });

  it('orders strings by code point where UTF-16 order differs', () => {
    expect('\u{1F600}' > '\uFFFD').toBe(false); // JS order, for contrast
    expect(compareStrings('\u{1F600}', '\uFFFD')).toBeGreaterThan(0);
    expect(compareStrings('ab', 'abc')).toBeLessThan(0);
    expect(compareStrings('b', 'a')).toBeGreaterThan(0);
  });
});

describe('operators, precedence and converters', () => {
  it.each([
    ['not name == "x"', true],
    ['not (kind == SPAN_KIND_SERVER)', false],
    ['name == "x" or kind == SPAN_KIND_SERVER', true],
    ['name == "x" and kind == SPAN_KIND_SERVER', false],
    ['true or true and false', true],
    ['(true or true) and false', false],
    ['not true or true', true],
    ['not (true or true)', false],
    ['false or false or true', true],
    ['true and true and false', false],
    ['end_time_unix_nano - start_time_unix_nano > 5000000000', true],
    ['end_time_unix_nano - start_time_unix_nano > 6000000000', false],
    ['(end_time_unix_nano - start_time_unix_nano) / 1000000 == 6000', true],
    ['2 * 3 + 1 == 7', true],
    ['2 + 3 * 2 == 8', true],
    ['10 - 2 - 3 == 5', true],
    ['7 / 2 == 3', true],
    ['1.5 + 1.5 == 3.0', true],
    ['-1 < 0', true],
    // a literal on the left compares as on the right
    ['5000000000 < end_time_unix_nano - start_time_unix_nano', true],
    ['6000000000 <= end_time_unix_nano - start_time_unix_nano', true],
    ['6000000001 <= end_time_unix_nano - start_time_unix_nano', false],
    ['"GET /api/orders" == name', true],
    ['SPAN_KIND_SERVER == kind', true],
    ['SPAN_KIND_SERVER != kind', false],
    ['Duration("7s") > end_time - start_time', true],
    ['start_time < end_time and end_time >= start_time and start_time != end_time', true],
    ['200 == attributes["http.status_code"]', true],
    ['true == attributes["retry"]', true],
    ['"GET" != attributes["http.method"]', false],
    ['end_time - start_time > Duration("5s")', true],
    ['end_time - start_time >= Duration("6s")', true],
    ['end_time - start_time > Duration("1m")', false],
    ['start_time + Duration("6s") == end_time', true],
    ['Nanoseconds(Duration("1.5s")) == 1500000000', true],
    ['end_time_unix_nano - start_time_unix_nano > Nanoseconds(Duration("5.5s"))', true],
    ['IsMatch(name, "^GET /api/")', true],
    ['IsMatch(name, "^POST")', false],
    ['not IsMatch(name, "^POST")', true],
    ['IsMatch(name, "orders$") == true', true],
    ['IsMatch(attributes["http.status_code"], "^2\\d\\d$")', true],
    ['IsMatch(attributes["retry"], "^true$")', true],
    ['IsMatch(attributes["missing"], ".*")', false],
    ['IsMatch(trace_id.string, "463ac35c")', true],
    ['IsMatch(attributes["http.method"], "(a+)+$")', false],
  ])('%s → %s', (condition, expected) => {
    expect(evalSpan(condition)).toBe(expected);
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('1h15m30.5s')).toBe(4_530_500_000_000n);
    expect(parseGoDuration('300ms')).toBe(300_000_000n);
    expect(parseGoDuration('-1.5us')).toBe(-1500n);
    expect(parseGoDuration('0')).toBe(0n);
    expect(parseGoDuration('5')).toBeUndefined();
    expect(parseGoDuration('5 s')).toBeUndefined();
  });
});

describe('span-event context', () => {
  it.each([
    ['name == "exception"', 0, true],
    ['name == "exception"', 1, false],
    ['spanevent.name == "cache.hit"', 1, true],
    ['attributes["exception.type"] == "IOError"', 0, true],
    ['attributes["exception.type"] == nil', 1, true],
    ['span.name == "GET /api/orders"', 1, true],
    ['span.attributes["http.method"] == "GET"', 0, true],
    ['span.kind == SPAN_KIND_SERVER', 0, true],
    ['resource.attributes["service.name"] == "checkout"', 0, true],
    ['event_index == 1', 1, true],
    ['time_unix_nano - span.start_time_unix_nano == 2000', 1, true],
    ['time - span.start_time == Duration("1us")', 0, true],
  ])('%s (event %i) → %s', (condition, index, expected) => {
    expect(evalEvent(condition, index)).toBe(expected);
  });
});

describe('conditions that do not parse or are not supported name the column', () => {
  it.each([
    ['name = "x"', 'span', 6, 'unexpected character "=" (use == to compare)'],
    ['name == "x', 'span', 9, 'unterminated string literal'],
    ['name == \'x\'', 'span', 9, 'strings use double quotes'],
    ['nmae == "x"', 'span', 1, 'unknown path nmae in the span context (did you mean "name"?)'],
    ['kind == SPAN_KIND_SERVR', 'span', 9, 'unknown enum SPAN_KIND_SERVR (did you mean "SPAN_KIND_SERVER"?)'],
    ['name == "x" and', 'span', 16, 'expected a value, got end of condition'],
    ['name == "x" && kind == 2', 'span', 13, 'use and, or, not'],
    ['(name == "x"', 'span', 13, 'expected ")" to close the "(" at column 1'],
    ['name == "x" name == "y"', 'span', 13, 'unexpected "name" (conditions are joined with "and" or "or")'],
    ['name == "x" == "y"', 'span', 13, 'comparisons cannot be chained'],
    ['attributes["a"]', 'span', 1, 'a path is not a condition'],
    ['kind', 'span', 1, 'a path is not a condition'],
    ['1 + 1', 'span', 1, 'an arithmetic expression is not a condition'],
    ['IsMatch(name, "(a")', 'span', 15, 'invalid regular expression "(a"'],
    ['IsMatch(name, "(a+)\\1")', 'span', 15, 'backreferences'],
    ['IsMatch(name, attributes["p"])', 'span', 15, 'the pattern of IsMatch must be a string literal'],
    ['IsMatch(name)', 'span', 1, 'IsMatch takes 2 arguments, got 1'],
    ['IsMatch(end_time, "1")', 'span', 9, 'IsMatch needs a string-like target, got a time'],
    ['trace_id == "abc"', 'span', 1, 'a TraceID is never equal to a string (use trace_id.string, or TraceID(0x...))'],
    ['trace_id == TraceID(0x01)', 'span', 21, 'TraceID needs a 16-byte literal'],
    ['span_id > SpanID(0x0000000000000000)', 'span', 1, 'ids can only be compared with == and !='],
    ['name == 1', 'span', 1, 'a string is never equal to an int, so this comparison is constant'],
    ['name == nil', 'span', 1, 'a string is never equal to nil'],
    ['1.5 + 1 > 0', 'span', 1, 'arithmetic cannot mix ints and doubles'],
    ['name + 1 > 0', 'span', 1, 'arithmetic needs ints or doubles, got a string'],
    ['end_time - start_time > 5', 'span', 1, 'a duration is never equal to an int (use Nanoseconds(...) for an int)'],
    ['end_time * 2 > end_time', 'span', 1, '* is not defined on times and durations'],
    ['1 / 0 == 1', 'span', 1, 'division by zero'],
    ['Duration("5 seconds") > Duration("1s")', 'span', 10, 'invalid duration "5 seconds"'],
    ['Nanoseconds(name) > 0', 'span', 13, 'Nanoseconds needs a duration, got a string'],
    ['Concat(name, "x") == "y"', 'span', 1, 'converter Concat is not supported'],
    ['Len(name) > 1', 'span', 1, 'converter Len is not supported'],
    ['kind == 99999999999999999999', 'span', 9, 'does not fit in 64 bits'],
    ['name == 0x1', 'span', 9, 'even, non-zero number of hex digits'],
    ['time_unix_nano > 0', 'span', 1, 'unknown path time_unix_nano in the span context'],
    ['events == nil', 'span', 1, 'path events is not supported by this filter'],
    ['cache["x"] == 1', 'span', 1, 'path cache is not supported by this filter'],
    ['name["x"] == 1', 'span', 6, 'name cannot be indexed with [...]'],
    ['span.nme == "x"', 'spanevent', 1, 'unknown path span.nme in the spanevent context (did you mean "span.name"?)'],
    ['Kind == 1', 'span', 1, '"Kind" is neither an enum (all upper case) nor a converter call'],
    ['', 'span', 1, 'empty condition'],
    ['('.repeat(100) + 'true' + ')'.repeat(100), 'span', 65, 'nested more than 64 levels deep'],
    ['not '.repeat(100) + 'true', 'span', 253, 'nested more than 64 levels deep'],
  ] as const)('%s', (condition, context, column, message) => {
    let error: unknown;
    try {
      compileCondition(condition, context);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OttlError);
    expect((error as OttlError).message).toContain(message);
    expect((error as OttlError).column).toBe(column);
  });
});
