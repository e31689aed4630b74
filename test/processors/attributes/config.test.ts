import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/load.js';
import { prepareConfig } from '../../../src/service/run.js';
import { writeTemp } from '../../helpers/tmp.js';

/** A config whose attributes processor is `body` (indented under it); returns the problems reported. */
async function problems(body: string): Promise<string[]> {
  const yaml = `receivers:
  zipkin:
    endpoint: 127.0.0.1:0
processors:
  attributes:
${body
  .trim()
  .split('\n')
  .map((l) => '    ' + l)
  .join('\n')}
exporters:
  file:
    path: /tmp/spanline-attributes-config-test.jsonl
service:
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [attributes]
      exporters: [file]
`;
  const file = writeTemp('config.yaml', yaml);
  try {
    await prepareConfig({ files: [file], sets: [], env: {} });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.message.split('\n').map((l) => l.replace(file, 'F').replace(/^F:\d+:\d+: processors\.attributes\./, ''));
  }
  return [];
}

describe('attributes config errors', () => {
  it.each([
    ['a Collector config is accepted as it is', `
actions:
  - key: db.statement
    action: delete
  - key: user.email
    action: HASH
  - key: http.url
    action: extract
    pattern: ^/api/(?P<version>v\\d+)/
  - key: env
    action: upsert
    value: 42
  - key: copy
    action: insert
    from_attribute: env
    default_value: none
  - key: n
    action: convert
    converted_type: double
include:
  match_type: regexp
  regexp:
    cacheenabled: true
    cachemaxnumentries: 100
  services: [^front]
  span_kinds: [SERVER]
  attributes:
    - key: http.method
      value: ^GET$
  libraries:
    - name: ^io\\.opentelemetry
exclude:
  match_type: strict
  span_names: [healthcheck]
  resources:
    - key: deployment.environment
      value: dev
`, []],
    ['no actions', 'actions: []', ['actions: must list at least one action']],
    ['actions missing', 'include: {match_type: strict, services: [a]}', ['actions: is required (list of map)']],
    ['an unknown action, with a suggestion', 'actions: [{key: a, action: insrt, value: 1}]', ['actions[0].action: must be one of insert, update, upsert, delete, hash, extract, convert; got "insrt" (did you mean "insert"?)']],
    ['an unknown key in an action', 'actions: [{key: a, action: insert, values: 1}]', [
      // Cross-key checks run once every key is valid.
      'actions[0].values: unknown key "values" (did you mean "value"?)',
    ]],
    ['insert without key', 'actions: [{action: insert, value: 1}]', ['actions[0].key: is required for action "insert"']],
    ['upsert without a value source', 'actions: [{key: a, action: upsert}]', ['actions[0]: action "upsert" needs a value: set `value`, `from_attribute` or `default_value`']],
    ['update with two value sources', 'actions: [{key: a, action: update, value: 1, from_attribute: b}]', ['actions[0].from_attribute: give one value source: either `value` or `from_attribute`, not both']],
    ['insert with a pattern', 'actions: [{key: a, action: insert, value: 1, pattern: x}]', ['actions[0].pattern: is not used by action "insert"; remove it']],
    ['insert with converted_type', 'actions: [{key: a, action: insert, value: 1, converted_type: int}]', ['actions[0].converted_type: is not used by action "insert"; remove it']],
    ['from_context is refused, not ignored', 'actions: [{key: a, action: insert, from_context: metadata.tenant}]', [
      'actions[0].from_context: is not supported: spanline does not pass request metadata (metadata.*, auth.*, client.address) to processors; remove it, or use `value` or `from_attribute`',
    ]],
    ['delete without key or pattern', 'actions: [{action: delete}]', ['actions[0]: action "delete" needs `key`, `pattern` or both']],
    ['delete with a value', 'actions: [{key: a, action: delete, value: 1}]', ['actions[0].value: is not used by action "delete"; remove it']],
    ['hash with default_value', 'actions: [{key: a, action: hash, default_value: x}]', ['actions[0].default_value: is not used by action "hash"; remove it']],
    ['delete with a pattern that is not RE2', 'actions: [{action: delete, pattern: "(?=x)"}]', [
      'actions[0].pattern: invalid regular expression "(?=x)": lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported: patterns must run in linear time (RE2 syntax)',
    ]],
    ['extract without pattern', 'actions: [{key: a, action: extract}]', ['actions[0].pattern: is required for action "extract"']],
    ['extract without named groups', 'actions: [{key: a, action: extract, pattern: "^/api/v\\\\d+"}]', [
      'actions[0].pattern: "^/api/v\\\\d+" has no named groups: name each value to extract, as in (?P<name>...)',
    ]],
    ['extract with an unnamed group', 'actions: [{key: a, action: extract, pattern: "(?P<x>a)(b)"}]', [
      'actions[0].pattern: "(?P<x>a)(b)" has an unnamed group: every group must be named ((?P<name>...)), or made non-capturing ((?:...))',
    ]],
    ['extract with from_attribute', 'actions: [{key: a, action: extract, pattern: "(?P<x>a)", from_attribute: b}]', ['actions[0].from_attribute: is not used by action "extract"; remove it']],
    ['convert without converted_type', 'actions: [{key: a, action: convert}]', ['actions[0].converted_type: is required for action "convert" (int, double or string)']],
    ['convert to an unknown type', 'actions: [{key: a, action: convert, converted_type: float}]', ['actions[0].converted_type: must be one of int, double, string; got string "float"']],
    ['convert with a pattern', 'actions: [{key: a, action: convert, converted_type: int, pattern: x}]', ['actions[0].pattern: is not used by action "convert"; remove it']],
    ['include with nothing to match', 'actions: [{key: a, action: delete}]\ninclude: {match_type: strict}', [
      'include: at least one of "services", "span_names", "span_kinds", "attributes", "resources" or "libraries" must be given',
    ]],
    ['exclude without match_type', 'actions: [{key: a, action: delete}]\nexclude: {services: [a]}', ['exclude.match_type: is required (`strict` or `regexp`) to compare names or values']],
    ['include with a bad pattern', 'actions: [{key: a, action: delete}]\ninclude: {match_type: regexp, span_names: ["a(b"]}', [
      /^include\.span_names\[0\]: invalid regular expression "a\(b": missing closing \)/,
    ]],
    ['include with a strict kind in the wrong spelling', 'actions: [{key: a, action: delete}]\ninclude: {match_type: strict, span_kinds: [server]}', [
      'include.span_kinds[0]: unknown span kind "server"; use one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER',
    ]],
  ] as [string, string, (string | RegExp)[]][])('%s', async (_rule, body, expected) => {
    expect(await problems(body)).toEqual(expected.map((e) => (typeof e === 'string' ? e : expect.stringMatching(e))));
  });
});
