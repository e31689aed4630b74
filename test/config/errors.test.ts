import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { prepareConfig } from '../../src/service/run.js';
import { writeTemp } from '../helpers/tmp.js';

const VALID = `receivers:
  zipkin:
    endpoint: 127.0.0.1:0
processors:
  batch:
    timeout: 1s
exporters:
  file:
    path: /tmp/spanline-config-test.jsonl
service:
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [batch]
      exporters: [file]
`;

async function problems(yaml: string, sets: string[] = []): Promise<string[]> {
  const file = writeTemp('config.yaml', yaml);
  try {
    await prepareConfig({ files: [file], sets, env: { PORT: '9999' } });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.message.split('\n').map((l) => l.replace(file, 'F'));
  }
  return [];
}

/** `VALID` with line `n` (1-based) replaced. */
const withLine = (n: number, text: string) =>
  VALID.split('\n')
    .map((l, i) => (i === n - 1 ? text : l))
    .join('\n');

describe('config errors name file, line, column and path', () => {
  it.each([
    ['unknown receiver type, with a suggestion', withLine(2, '  zipkn:'), [
      'F:2:3: receivers.zipkn: unknown receiver type "zipkn" (did you mean "zipkin"?); known types: zipkin, otlp',
      'F:13:19: service.pipelines.traces.receivers[0]: references receiver "zipkin" which is not configured (did you mean "zipkn"?)',
    ]],
    ['unknown key, with a suggestion', withLine(6, '    send_batch_sise: 10'), [
      'F:6:5: processors.batch.send_batch_sise: unknown key "send_batch_sise" (did you mean "send_batch_size"?)',
    ]],
    ['unknown key, nothing close', withLine(6, '    colour: blue'), [
      'F:6:5: processors.batch.colour: unknown key "colour"',
    ]],
    ['wrong type', withLine(6, '    send_batch_size: lots'), [
      'F:6:22: processors.batch.send_batch_size: expected an integer, got string "lots"',
    ]],
    ['out of range', withLine(6, '    send_batch_size: 0'), [
      'F:6:22: processors.batch.send_batch_size: must be at least 1, got 0',
    ]],
    ['bad duration', withLine(6, '    timeout: soon'), [
      'F:6:14: processors.batch.timeout: expected a duration such as "200ms", "5s" or "1m", got string "soon"',
    ]],
    ['bad enum, with a suggestion', VALID.replace('.jsonl\n', '.jsonl\n    format: zipkin_jsn\n'), [
      'F:10:13: exporters.file.format: must be one of zipkin_json, otlp_json; got string "zipkin_jsn" (did you mean "zipkin_json"?)',
    ]],
    ['bad endpoint', withLine(3, '    endpoint: localhost'), [
      'F:3:15: receivers.zipkin.endpoint: "localhost" is not an endpoint "host:port"',
    ]],
    ['missing required key', withLine(9, '    format: otlp_json'), [
      'F:8:3: exporters.file.path: is required (string)',
    ]],
    ['pipeline references an unconfigured exporter', withLine(15, '      exporters: [file, fille]'), [
      'F:15:25: service.pipelines.traces.exporters[1]: references exporter "fille" which is not configured (did you mean "file"?)',
    ]],
    ['pipeline without receivers', withLine(13, '      receivers: []'), [
      'F:12:5: service.pipelines.traces: a pipeline needs at least one receiver',
    ]],
    ['pipeline without exporters', withLine(15, '      exporters: []'), [
      'F:12:5: service.pipelines.traces: a pipeline needs at least one exporter',
    ]],
    ['a processor twice', withLine(14, '      processors: [batch, batch]'), [
      'F:14:27: service.pipelines.traces.processors[1]: processor "batch" appears more than once in the pipeline',
    ]],
    ['a metrics pipeline', withLine(12, '    metrics:'), [
      'F:12:5: service.pipelines.metrics: invalid pipeline id "metrics": spanline runs traces pipelines only ("traces" or "traces/<name>")',
    ]],
    ['unknown top-level key', 'recievers: {}\n' + VALID, [
      'F:1:1: recievers: unknown top-level key "recievers" (did you mean "receivers"?)',
    ]],
    ['invalid component id', withLine(2, '  zipkin/:'), [
      'F:2:3: receivers.zipkin/: invalid receiver id "zipkin/": expected type or type/name',
      'F:13:19: service.pipelines.traces.receivers[0]: references receiver "zipkin" which is not configured (did you mean "zipkin/"?)',
    ]],
    ['cross-key check of a component', withLine(6, '    send_batch_max_size: 10'), [
      'F:6:26: processors.batch.send_batch_max_size: send_batch_max_size (10) must be at least send_batch_size (8192) or 0',
    ]],
    ['invalid YAML', withLine(6, '    timeout: [1s'), [
      expect.stringMatching(/^F:7:\d+: invalid YAML: /),
    ]],
    ['bad environment reference', withLine(3, '    endpoint: ${env:9X}'), [
      'F:3:15: receivers.zipkin.endpoint: invalid environment variable name "9X" in "${env:9X}"',
    ]],
  ])('%s', async (_name, yaml, expected) => {
    expect(await problems(yaml)).toEqual(expected);
  });

  it('reports every problem at once, in file order', async () => {
    const yaml = withLine(3, '    endpoint: nowhere').replace('    timeout: 1s', '    timeout: -1').replace('[file]', '[nope]');
    expect(await problems(yaml)).toEqual([
      'F:3:15: receivers.zipkin.endpoint: "nowhere" is not an endpoint "host:port"',
      'F:6:14: processors.batch.timeout: expected a duration such as "200ms", "5s" or "1m", got number -1',
      'F:15:19: service.pipelines.traces.exporters[0]: references exporter "nope" which is not configured',
    ]);
  });

  it('names --set overrides as the source', async () => {
    expect(await problems(VALID, ['processors.batch.send_batch_size=zero'])).toEqual([
      '--set:1:34: processors.batch.send_batch_size: expected an integer, got string "zero"',
    ]);
  });

  it('reports a missing file', async () => {
    await expect(prepareConfig({ files: ['/nonexistent/spanline.yaml'] })).rejects.toThrow(
      '/nonexistent/spanline.yaml:0:0: cannot read config file: ENOENT',
    );
  });
});
