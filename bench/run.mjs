#!/usr/bin/env node
/**
 * spanline throughput/latency benchmark. `npm run bench` builds, then runs every scenario of
 * lib/scenarios.mjs against a fresh daemon each:
 *
 *   daemon (node dist/cli.js, pinned to CPU 0)  ←HTTP keep-alive←  load generator (bench/load.mjs, CPU 1)
 *        ↓ file exporter
 *   <tmp>/spans.jsonl  → read back after SIGTERM: every span of every 202 must be there exactly once
 *
 * Store sinks (MariaDB, OpenSearch) are also counted while the load runs (lib/store-watch.mjs), and a
 * scenario with `target: 'zipkin-server'` sends the same load to a Zipkin server writing to that store
 * instead of the daemon (runZipkinScenario).
 *
 * Options (see --help): --scenario, --duration, --rate, --batch, --connections, --warmup, --profile.
 * BENCH_DURATION sets the default duration. Prints one markdown row per scenario; writes the full
 * result to bench/results/<timestamp>.json. Exits 1 if any accepted span is missing (or written twice,
 * or altered), or the daemon does not exit 0.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Daemon, shebangNodeFlags } from './lib/daemon.mjs';
import { ENCODINGS } from './lib/encodings/index.mjs';
import { RunIds } from './lib/ids.mjs';
import { aggregateDir, formatProfile } from './lib/cpuprofile.mjs';
import { canPin, cpuSeconds, cpuTimes, cpuUtilization, freePort, machine, RssSampler } from './lib/proc.mjs';
import { SCENARIOS, selectScenarios } from './lib/scenarios.mjs';
import { watchPeaks } from './lib/watch.mjs';
import { sink as sinkNamed } from './lib/sinks/index.mjs';
import { buildWorkload } from './lib/workload.mjs';
import { verify } from './lib/verify.mjs';
import { toYaml } from './lib/yaml.mjs';
import { StoreWatch, findPid } from './lib/store-watch.mjs';
import { startZipkinTarget } from './lib/zipkin-server.mjs';
import { loadavg } from 'node:os';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const RESULTS = join(ROOT, 'bench/results');

const HELP = `Usage: node bench/run.mjs [options]

  --scenario NAME     run only these scenarios (repeatable, comma-separated, prefix match)
  --duration S        measured seconds per scenario (default: $BENCH_DURATION or 60)
  --warmup S          seconds of load before measuring, verified but not measured (default 3)
  --rate N            spans/s for 'rate' scenarios (default: half of the max measured just before)
  --batch N           spans per request (default 100)
  --connections N     concurrent keep-alive connections (default 16)
  --pool N            distinct request templates (default 64)
  --refused-backoff MS  pause of a closed-loop lane after a 503 (default 20)
  --profile           run the daemon with --cpu-prof and print the top self-time functions (implies --probe)
  --probe             preload bench/lib/probe.mjs into the daemon: event loop delay and GC pauses
  --set PATH=VALUE    override the generated daemon config (passed to spanline --set; repeatable), e.g.
                      --set processors.batch.send_batch_size=1024
  --node-arg FLAG     extra node/V8 flag for the daemon, after those of dist/cli.js's shebang (which the
                      daemon always gets, as the installed command does), e.g. --node-arg=--max-semi-space-size=16
  --top N             functions to print with --profile (default 25)
  --keep              keep the scratch directory (config, daemon log, output file)
  --list              list scenarios and exit

Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
`;

function options() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', multiple: true },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rate: { type: 'string' },
      batch: { type: 'string' },
      connections: { type: 'string' },
      pool: { type: 'string' },
      'refused-backoff': { type: 'string' },
      profile: { type: 'boolean' },
      probe: { type: 'boolean' },
      'node-arg': { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      top: { type: 'string' },
      keep: { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const num = (v, dflt, name, min = 1) => {
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${v}"`);
    return n;
  };
  return {
    help: values.help,
    list: values.list,
    scenarios: selectScenarios(values.scenario),
    durationS: num(values.duration ?? process.env.BENCH_DURATION, 60, 'duration'),
    warmupS: num(values.warmup, 3, 'warmup', 0),
    rate: values.rate === undefined ? undefined : num(values.rate, undefined, 'rate'),
    batch: Math.floor(num(values.batch, 100, 'batch')),
    connections: Math.floor(num(values.connections, 16, 'connections')),
    pool: Math.floor(num(values.pool, 64, 'pool')),
    refusedBackoffMs: num(values['refused-backoff'], 20, 'refused-backoff', 0),
    profile: Boolean(values.profile),
    probe: Boolean(values.probe || values.profile),
    nodeArgs: values['node-arg'] ?? [],
    sets: values.set ?? [],
    top: Math.floor(num(values.top, 25, 'top')),
    keep: Boolean(values.keep),
  };
}

const log = (msg) => process.stderr.write(`${msg}\n`);
const fmtInt = (n) => (n === undefined || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n) => (n === undefined ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const MB = 1024 * 1024;

/** Children to kill if the benchmark itself is interrupted. */
const running = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of running) c.kill('SIGKILL');
    process.exit(130);
  });
}

function daemonConfig(sc, receiverPort, metricsPort, workDir) {
  const receiver = ENCODINGS[sc.encoding].receiver(`127.0.0.1:${receiverPort}`);
  const exporter = sinkNamed(sc.sink).exporter(workDir);
  return {
    receivers: { [receiver.id]: receiver.config },
    // A scenario's own processors (e.g. tail_sampling) come before batch, which is set as in
    // config.example.yaml (BENCHMARKS.md compares batch sizes: 2048 beats the Collector's 8192 here).
    processors: { ...sc.processors, batch: { send_batch_size: 2048, send_batch_max_size: 4096, timeout: '200ms' } },
    exporters: { [exporter.id]: exporter.config },
    service: {
      pipelines: { traces: { receivers: [receiver.id], processors: [...Object.keys(sc.processors ?? {}), 'batch'], exporters: [exporter.id] } },
      telemetry: { logs: { level: 'warn' }, metrics: { address: `127.0.0.1:${metricsPort}` } },
    },
  };
}

/** Starts bench/load.mjs (pinned to `cpu` if given) with an IPC channel. */
function startLoad(cpu) {
  const script = join(ROOT, 'bench/load.mjs');
  const [cmd, args] = cpu !== undefined ? ['taskset', ['-c', cpu, process.execPath, script]] : [process.execPath, [script]];
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const messages = [];
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.type === m.type || m.type === 'error');
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else messages.push(m);
  });
  child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`load generator exited with ${code} while waiting for "${w.type}"`));
  });
  /** The next message of `type` (or an error message, which rejects). */
  const next = (type) =>
    new Promise((resolve, reject) => {
      const i = messages.findIndex((m) => m.type === type || m.type === 'error');
      const settle = (m) => (m.type === 'error' ? reject(new Error(`load generator: ${m.message}`)) : resolve(m));
      if (i >= 0) return settle(messages.splice(i, 1)[0]);
      waiters.push({ type, resolve: settle, reject });
    });
  return { child, next, command: [cmd, ...args].join(' ') };
}

/**
 * The load itself, the same for every target: configures and starts the load generator, closes the
 * warm-up after `opts.warmupS` (snapshots of the target's CPU `cpu()`, the machine's CPUs and the store's
 * CPU, then `onMeasureStart`), logs progress every 5 s (`progress()` adds the target's own figures), and
 * returns the load generator's result with the snapshots taken around the measured phase.
 */
async function runLoad({ sc, opts, load, loadConfig, cpu, store, introduce, progress, onMeasureStart }) {
  load.child.send({ type: 'config', config: loadConfig });
  const ready = await load.next('ready');
  log(`[${sc.name}] ${introduce(ready)}`);
  const cpuStart = cpu();
  const wallStart = performance.now();
  let cpuMeasureStart = cpuStart;
  let wallMeasureStart = wallStart;
  let cpusMeasureStart = cpuTimes();
  let storeCpuMeasureStart = store?.cpu();
  const loadavgStart = loadavg();
  const measureTimer = setTimeout(() => {
    cpuMeasureStart = cpu();
    cpusMeasureStart = cpuTimes();
    storeCpuMeasureStart = store?.cpu();
    wallMeasureStart = performance.now();
    onMeasureStart?.();
  }, opts.warmupS * 1000);
  let lastReport = { t: 0, spans: 0 };
  const onProgress = (m) => {
    if (m.type !== 'progress' || m.elapsedS - lastReport.t < 5) return;
    const rateNow = (m.acceptedSpans - lastReport.spans) / (m.elapsedS - lastReport.t);
    log(`[${sc.name}] ${m.elapsedS.toFixed(0)} s${m.warmup ? ' (warm-up)' : ''}: ${fmtInt(m.acceptedSpans)} spans accepted, ${fmtInt(rateNow)}/s now; refused ${m.refusedRequests} req, errors ${m.errorRequests + m.otherRequests}; ${progress()}`);
    lastReport = { t: m.elapsedS, spans: m.acceptedSpans };
  };
  load.child.on('message', onProgress);
  load.child.send({ type: 'start' });
  const { result: loadResult } = await load.next('done');
  load.child.off('message', onProgress);
  clearTimeout(measureTimer);
  const cpuLoadEnd = cpu();
  const cpusLoadEnd = cpuTimes();
  const wallLoadEnd = performance.now();
  const storeCpuLoadEnd = store?.cpu();
  return {
    ready,
    loadResult,
    cpuStart,
    /** The target's share of one CPU in the measured phase. */
    cpuUtilization: (cpuLoadEnd - cpuMeasureStart) / ((wallLoadEnd - wallMeasureStart) / 1000),
    machineCpus: cpuUtilization(cpusMeasureStart, cpusLoadEnd, (wallLoadEnd - wallMeasureStart) / 1000),
    loadavg: { start: loadavgStart, end: loadavg() },
    /** What a store's `finish` needs to know of the phases. */
    storeWindow: { loadStart: wallStart, measureStart: wallMeasureStart, loadEnd: wallLoadEnd, cpuStart: storeCpuMeasureStart, cpuEnd: storeCpuLoadEnd },
  };
}

/** The target process's figures (the same for the daemon and a Zipkin server): memory and CPU. */
function processFigures(phase, rss, cpuDrained, pin) {
  const accepted = phase.loadResult.acceptedSpans;
  const cpuSpent = cpuDrained - phase.cpuStart;
  return {
    peakRssBytes: rss.peak,
    rssSeries: rss.series,
    cpuSeconds: cpuSpent,
    cpuUsPerAcceptedSpan: accepted > 0 ? (cpuSpent / accepted) * 1e6 : undefined,
    cpuUtilizationMeasured: phase.cpuUtilization,
    otherLoadOnDaemonCpu: pin && phase.machineCpus['0'] ? phase.machineCpus['0'].busy - phase.cpuUtilization : undefined,
  };
}

/** What the verification found wrong, in words; `unit` names what the sink holds (lines, rows). */
function verificationProblems(v, unit) {
  const problems = [];
  if (v.missing) problems.push(`${v.missing} accepted spans missing`);
  if (v.duplicates) problems.push(`${v.duplicates} duplicate ${unit}`);
  if (v.refusedButWritten) problems.push(`${v.refusedButWritten} spans of refused requests written`);
  if (v.foreign) problems.push(`${v.foreign} unknown span ids`);
  if (v.output.malformed) problems.push(`${v.output.malformed} malformed ${unit}`);
  if (!v.content.ok) problems.push(`content mismatch in ${JSON.stringify(v.content.mismatchByField)}`);
  return problems;
}

async function runScenario(sc, opts, rate, pin) {
  if (sc.target === 'zipkin-server') return runZipkinScenario(sc, opts, rate, pin);
  const workDir = mkdtempSync(join(tmpdir(), 'spanline-bench-'));
  const [receiverPort, metricsPort] = await Promise.all([freePort(), freePort()]);
  const config = daemonConfig(sc, receiverPort, metricsPort, workDir);
  const configPath = join(workDir, 'spanline.yaml');
  const configYaml = toYaml(config);
  writeFileSync(configPath, configYaml);
  const sink = sinkNamed(sc.sink);
  const profileDir = opts.profile ? join(workDir, 'cpuprofile') : undefined;
  if (profileDir) mkdirSync(profileDir);

  const ids = RunIds.random();
  const params = {
    encoding: sc.encoding,
    batch: opts.batch,
    pool: opts.pool,
    seed: 20240611,
    baseTimeUs: (Date.now() - 120_000) * 1000,
  };
  const loadConfig = {
    ...params,
    ids: ids.toJSON(),
    host: '127.0.0.1',
    port: receiverPort,
    mode: sc.mode,
    rate,
    connections: opts.connections,
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    refusedBackoffMs: opts.refusedBackoffMs,
  };

  const probeOut = opts.probe ? join(workDir, 'probe.json') : undefined;
  const daemon = new Daemon({
    root: ROOT,
    configPath,
    logPath: join(workDir, 'daemon.log'),
    cpu: pin ? '0' : undefined,
    profileDir,
    nodeArgs: opts.nodeArgs,
    sets: opts.sets,
    probe: probeOut && pathToFileURL(join(ROOT, 'bench/lib/probe.mjs')).href,
    env: probeOut && { SPANLINE_BENCH_PROBE: probeOut },
  });
  running.add(daemon.child);
  let load;
  let storeWatch;
  try {
    await daemon.ready(receiverPort, metricsPort);
    const rss = new RssSampler(daemon.pid, 250);
    const store = sink.storedCounter ? storeSide(sink, workDir) : undefined;
    storeWatch = store?.watch;
    const watcher = sc.watch ? watchPeaks(daemon, metricsPort, sc.watch) : undefined;
    load = startLoad(pin ? '1' : undefined);
    const phase = await runLoad({
      sc,
      opts,
      load,
      loadConfig,
      cpu: () => cpuSeconds(daemon.pid),
      store,
      introduce: (ready) => `daemon pid ${daemon.pid}, load pid ${load.child.pid}; ${opts.connections} connections × ${opts.batch} spans/request, ~${Math.round(ready.avgSpanBytes)} B/span, ${sc.mode === 'rate' ? `${fmtInt(rate)} spans/s open loop` : 'closed loop'}, ${opts.warmupS} s warm-up + ${opts.durationS} s`,
      progress: () => `daemon RSS ${Math.round(rss.peak / MB)} MB peak`,
      onMeasureStart: () => probeOut && daemon.signal('SIGUSR2'), // the probe closes its warm-up phase
    });
    const { ready, loadResult } = phase;
    if (probeOut) daemon.signal('SIGUSR2'); // … and its measured phase

    log(`[${sc.name}] load done: ${fmtInt(loadResult.acceptedSpans)} spans accepted; waiting for the exporter queue to drain`);
    // A store sink's backlog (up to the batch buffer plus the sending queue) drains at the store's pace.
    const drain = await daemon.drained(metricsPort, store ? 600_000 : undefined);
    const storeResult = store && (await store.finish({ expected: loadResult.acceptedSpans, ...phase.storeWindow }));
    storeWatch = undefined;
    if (storeResult) log(`[${sc.name}] ${storeLine(storeResult, loadResult)}`);
    const peaks = await watcher?.stop();
    const cpuDrained = cpuSeconds(daemon.pid);
    const stop = await daemon.stop();
    rss.stop();
    log(`[${sc.name}] drained in ${drain.ms} ms${drain.timedOut ? ' (TIMED OUT)' : ''}; daemon exited ${stop.code ?? stop.signal} after ${stop.ms} ms; verifying output`);

    const statuses = new Uint8Array(Buffer.from(loadResult.statuses, 'base64'));
    delete loadResult.statuses;
    const workload = await buildWorkload(params);
    const verification = await verify({ statuses, params, ids, workload, sink: sinkNamed(sc.sink), workDir });

    let profile;
    if (profileDir) {
      const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
      if (files.length === 0) log(`[${sc.name}] no .cpuprofile was written (did the daemon exit normally?)`);
      else {
        profile = aggregateDir(profileDir, ROOT);
        mkdirSync(RESULTS, { recursive: true });
        profile.saved = files.map((f, i) => {
          const dest = join(RESULTS, `${stamp}-${sc.name}${i ? `-${i}` : ''}.cpuprofile`);
          copyFileSync(join(profileDir, f), dest);
          return dest.slice(ROOT.length + 1);
        });
      }
    }

    let probe;
    if (probeOut && existsSync(probeOut)) {
      const phases = JSON.parse(readFileSync(probeOut, 'utf8'));
      const names = phases.length === 3 ? ['warmup', 'measured', 'drainAndShutdown'] : phases.map((_, i) => `phase${i}`);
      probe = Object.fromEntries(phases.map((ph, i) => [names[i], ph]));
    }

    const m = drain.metrics;
    const acceptedTotal = loadResult.acceptedSpans;
    const result = {
      scenario: sc,
      offeredRate: sc.mode === 'rate' ? rate : undefined,
      params: { ...params, connections: opts.connections, durationS: opts.durationS, warmupS: opts.warmupS, refusedBackoffMs: opts.refusedBackoffMs, avgSpanBytes: ready.avgSpanBytes, avgRequestBytes: ready.avgRequestBytes },
      pinned: pin ? { daemon: '0', load: '1' } : false,
      commands: { daemon: daemon.command, load: load.command },
      config: configYaml,
      load: loadResult,
      // otherLoadOnDaemonCpu: busy time of the daemon's CPU not spent by the daemon: other processes (or
      // kernel work for the network) competing with it. Large values make the figures of this run suspect.
      daemon: {
        ...processFigures(phase, rss, cpuDrained, pin),
        drainMs: drain.ms,
        drainTimedOut: drain.timedOut,
        exit: stop,
        metrics: m.pick('spanline_'),
        logTail: daemon.logTail(20),
      },
      loadCpuUtilization: loadResult.loadCpuS / (opts.warmupS + loadResult.measured.elapsedS),
      machineCpus: phase.machineCpus,
      verification,
      figures: sc.figures?.(drain.metrics, peaks),
      store: storeResult,
      loadavg: phase.loadavg,
      probe,
      profile: profile && { files: profile.saved, totalMs: profile.totalMs, functions: profile.functions.slice(0, 100), byModule: profile.byModule.slice(0, 40), busy: profile.busy },
      ok: verification.ok && stop.code === 0 && !drain.timedOut,
    };
    const problems = [];
    if (stop.code !== 0) problems.push(`daemon exited ${stop.code ?? stop.signal}`);
    if (drain.timedOut) problems.push('exporter queue did not drain');
    problems.push(...verificationProblems(verification, 'lines'));
    const other = result.daemon.otherLoadOnDaemonCpu;
    if (other !== undefined && other > 0.1) log(`[${sc.name}] WARNING: something else used ${Math.round(other * 100)}% of the daemon's CPU during the measurement; the figures understate the daemon`);
    const receiverAccepted = m.sum('spanline_receiver_accepted_spans_total');
    if (receiverAccepted !== acceptedTotal) problems.push(`daemon counted ${receiverAccepted} accepted spans, load generator ${acceptedTotal}`);
    result.problems = problems;
    log(`[${sc.name}] verified ${fmtInt(verification.output.lines)} lines (${(verification.output.bytes / MB).toFixed(0)} MB) in ${verification.scanSeconds.toFixed(1)} s: ${problems.length ? problems.join('; ') : 'all accepted spans present exactly once'}`);
    if (result.figures) log(`[${sc.name}] ${Object.entries(result.figures).map(([k, v]) => `${k} ${typeof v === 'number' && Number.isInteger(v) ? fmtInt(v) : v}`).join(', ')}`);
    if (probe?.measured) {
      const pm = probe.measured;
      const gcs = Object.entries(pm.gc).map(([k, g]) => `${k} ${g.count}× ${Math.round(g.totalMs)} ms (max ${g.maxMs.toFixed(1)})`).join(', ');
      process.stdout.write(`\n${sc.name} (measured phase, probe): event loop delay p50 ${pm.eventLoopDelayMs.p50} ms, p99 ${pm.eventLoopDelayMs.p99} ms, max ${pm.eventLoopDelayMs.max} ms; GC ${Math.round(pm.gcShare * 100)}% of wall time: ${gcs}\n`);
      const pk = pm.peakMemory;
      if (pk) process.stdout.write(`${sc.name} (measured phase, probe): at peak RSS ${pk.rssMB} MB, V8 heap ${pk.heapCommittedMB} MB committed (${Object.entries(pk.spaces).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')}), ${pk.heapUsedMB} MB used; array buffers ${pk.arrayBuffersMB} MB\n`);
    }
    if (profile) process.stdout.write(`\n### CPU profile: ${sc.name}\n\n${formatProfile(profile, opts.top)}\n\n`);
    return result;
  } catch (e) {
    daemon.kill();
    load?.child.kill('SIGKILL');
    await storeWatch?.stop().catch(() => undefined);
    log(`[${sc.name}] daemon log (${join(workDir, 'daemon.log')}):\n${daemon.logTail()}`);
    throw e;
  } finally {
    if (!opts.keep) rmSync(workDir, { recursive: true, force: true });
    else log(`[${sc.name}] kept ${workDir}`);
  }
}

/**
 * Counting what reached a store sink's store, and the store server's CPU, while a run goes on
 * (lib/store-watch.mjs). `finish` waits until everything accepted is stored or the count stops growing.
 */
function storeSide(sink, workDir) {
  const watch = new StoreWatch(sink.storedCounter(workDir));
  const pid = sink.storeProcess ? findPid(sink.storeProcess()) : undefined;
  const cpu = () => {
    if (pid === undefined) return undefined;
    try {
      return cpuSeconds(pid);
    } catch {
      return undefined;
    }
  };
  return {
    watch,
    pid,
    cpu,
    async finish({ expected, loadStart, measureStart, loadEnd, cpuStart, cpuEnd, timeoutMs }) {
      const settled = await watch.settle(expected, { timeoutMs });
      await watch.stop();
      return {
        ...watch.summary({ loadStart, measureStart, loadEnd }),
        expected,
        settleMs: settled.ms,
        stalled: settled.stalled,
        timedOut: settled.timedOut,
        storePid: pid,
        // The store server's share of one core in the measured phase (it is not pinned; 2 = both CPUs).
        storeCpuMeasured: cpuStart !== undefined && cpuEnd !== undefined ? (cpuEnd - cpuStart) / ((loadEnd - measureStart) / 1000) : undefined,
      };
    },
  };
}

function storeLine(st, loadResult) {
  return `store: ${fmtInt(st.storedSpans)} of ${fmtInt(st.expected)} accepted spans stored; measured phase: accepted ${fmtInt(loadResult.measured.acceptedSpansPerSec)}/s, stored ${fmtInt(st.measuredStoredSpansPerSec)}/s (per-interval p50 ${fmtInt(st.intervalRate.p50)}, min ${fmtInt(st.intervalRate.min)}); all stored ${st.allStoredAfterLoadS?.toFixed(1) ?? '—'} s after the load${st.stalled ? ' (the count STOPPED GROWING short of it)' : ''}; store CPU ${st.storeCpuMeasured === undefined ? '—' : `${Math.round(st.storeCpuMeasured * 100)}%`}`;
}

const STORE_HEADER = [
  '| scenario | target | accepted spans/s | stored spans/s (measured phase) | stored spans/s (load start → all stored) | all stored after load s | stored / accepted | target CPU | store CPU | load avg (start → end) | verdict |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
].join('\n');

function storeRow(r) {
  const st = r.store;
  const la = r.loadavg ? `${r.loadavg.start[0].toFixed(1)} → ${r.loadavg.end[0].toFixed(1)}` : '—';
  return `| ${r.scenario.name} | ${r.scenario.target === 'zipkin-server' ? 'Zipkin server' : 'spanline'} | ${fmtInt(r.load.measured.acceptedSpansPerSec)} | ${fmtInt(st.measuredStoredSpansPerSec)} | ${fmtInt(st.overallStoredSpansPerSec)} | ${st.allStoredAfterLoadS?.toFixed(1) ?? '—'} | ${fmtInt(st.storedSpans)} / ${fmtInt(st.expected)} | ${Math.round(r.daemon.cpuUtilizationMeasured * 100)}% | ${st.storeCpuMeasured === undefined ? '—' : `${Math.round(st.storeCpuMeasured * 100)}%`} | ${la} | ${r.ok && r.problems.length === 0 ? 'ok' : 'FAIL: ' + r.problems.join('; ')} |`;
}

/**
 * A scenario whose target is a Zipkin server (lib/zipkin-server.mjs) writing to the sink's store instead
 * of the daemon: the same load generator, payloads, pinning and verification; the store-side count
 * decides when it is done, since Zipkin answers 202 before it writes and has no queue to watch.
 */
/**
 * How long a Zipkin server may keep writing after the load. Its collector answers 202 before it writes
 * and queues without bound, so a backlog can take far longer than the run to reach the store (into
 * MySQL it writes row by row); what it has not written by then counts as missing.
 */
const ZIPKIN_STORE_WAIT_S = 30;

async function runZipkinScenario(sc, opts, rate, pin) {
  const workDir = mkdtempSync(join(tmpdir(), 'spanline-bench-'));
  const sink = sinkNamed(sc.sink);
  const ids = RunIds.random();
  const params = { encoding: sc.encoding, batch: opts.batch, pool: opts.pool, seed: 20240611, baseTimeUs: (Date.now() - 120_000) * 1000 };
  if (opts.profile || opts.probe) log(`[${sc.name}] --profile/--probe apply to the daemon only; the Zipkin server runs without them`);
  const env = await sink.zipkinStorage(workDir);
  log(`[${sc.name}] starting the Zipkin server (STORAGE_TYPE=${env.STORAGE_TYPE})${pin ? ' on CPU 0' : ''}`);
  const target = await startZipkinTarget({ env, cpu: pin ? '0' : undefined });
  let load;
  let store;
  try {
    const loadConfig = { ...params, ids: ids.toJSON(), host: '127.0.0.1', port: target.port, mode: sc.mode, rate, connections: opts.connections, durationS: opts.durationS, warmupS: opts.warmupS, refusedBackoffMs: opts.refusedBackoffMs };
    const rss = new RssSampler(target.pid, 250);
    // A JVM that dies (out of heap) has no /proc entry left: its CPU is then read as of its last sample.
    let lastCpu = 0;
    const targetCpu = () => {
      try {
        const v = cpuSeconds(target.pid);
        if (Number.isFinite(v)) lastCpu = v;
      } catch {
        // gone
      }
      return lastCpu;
    };
    store = storeSide(sink, workDir);
    load = startLoad(pin ? '1' : undefined);
    const phase = await runLoad({
      sc,
      opts,
      load,
      loadConfig,
      cpu: targetCpu,
      store,
      introduce: () => `Zipkin pid ${target.pid} (up in ${(target.server.startupMs / 1000).toFixed(1)} s), load pid ${load.child.pid}; ${opts.connections} connections × ${opts.batch} spans/request, ${sc.mode === 'rate' ? `${fmtInt(rate)} spans/s open loop` : 'closed loop'}, ${opts.warmupS} s warm-up + ${opts.durationS} s`,
      progress: () => `${fmtInt(store.watch.last())} stored; Zipkin RSS ${Math.round(rss.peak / MB)} MB peak`,
    });
    const { ready, loadResult } = phase;

    log(`[${sc.name}] load done: ${fmtInt(loadResult.acceptedSpans)} spans accepted; waiting up to ${ZIPKIN_STORE_WAIT_S} s for the store count to reach it or stop growing`);
    const storeResult = await store.finish({ expected: loadResult.acceptedSpans, ...phase.storeWindow, timeoutMs: ZIPKIN_STORE_WAIT_S * 1000 });
    store = undefined;
    log(`[${sc.name}] ${storeLine(storeResult, loadResult)}`);
    const zipkinMetrics = await target.metrics().catch(() => undefined);
    const cpuDrained = targetCpu();
    const stop = await target.stop();
    rss.stop();

    const statuses = new Uint8Array(Buffer.from(loadResult.statuses, 'base64'));
    delete loadResult.statuses;
    const workload = await buildWorkload(params);
    const verification = await verify({ statuses, params, ids, workload, sink, workDir });
    const collector = zipkinMetrics?.pick('zipkin_collector') ?? {};
    const result = {
      scenario: sc,
      offeredRate: sc.mode === 'rate' ? rate : undefined,
      params: { ...params, connections: opts.connections, durationS: opts.durationS, warmupS: opts.warmupS, refusedBackoffMs: opts.refusedBackoffMs, avgSpanBytes: ready.avgSpanBytes, avgRequestBytes: ready.avgRequestBytes },
      pinned: pin ? { zipkin: '0', load: '1' } : false,
      commands: { zipkin: target.command, load: load.command },
      config: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, /PASS/.test(k) ? '***' : v])),
      load: loadResult,
      // The same fields as a daemon's, for the Zipkin server's JVM.
      daemon: {
        ...processFigures(phase, rss, cpuDrained, pin),
        drainMs: storeResult.settleMs,
        drainTimedOut: storeResult.timedOut,
        exit: stop,
        metrics: collector,
        logTail: target.logTail(20),
      },
      loadCpuUtilization: loadResult.loadCpuS / (opts.warmupS + loadResult.measured.elapsedS),
      machineCpus: phase.machineCpus,
      verification,
      store: storeResult,
      loadavg: phase.loadavg,
      ok: verification.ok,
    };
    const problems = [];
    if (storeResult.timedOut) problems.push(`still writing ${ZIPKIN_STORE_WAIT_S} s after the load`);
    if (/OutOfMemoryError/.test(target.logTail(200))) problems.push('the Zipkin server ran out of heap (OutOfMemoryError) and stopped');
    problems.push(...verificationProblems(verification, 'rows'));
    const dropped = Object.entries(collector).filter(([k]) => k.startsWith('zipkin_collector_spans_dropped')).reduce((a, [, v]) => a + v, 0);
    result.problems = problems;
    // Zipkin counts a message's spans as dropped when a storage call fails, even if part of it was
    // written: what is in the store (above) is the verdict; the counter is reported beside it.
    result.zipkinDroppedSpans = dropped;
    if (dropped > 0) log(`[${sc.name}] Zipkin counted ${fmtInt(dropped)} spans dropped (its collector metric)`);
    const other = result.daemon.otherLoadOnDaemonCpu;
    if (other !== undefined && other > 0.1) log(`[${sc.name}] WARNING: something else used ${Math.round(other * 100)}% of the Zipkin server's CPU during the measurement`);
    log(`[${sc.name}] verified ${fmtInt(verification.output.lines)} rows in ${verification.scanSeconds.toFixed(1)} s: ${problems.length ? problems.join('; ') : 'all accepted spans present exactly once'}`);
    return result;
  } catch (e) {
    load?.child.kill('SIGKILL');
    await store?.watch.stop().catch(() => undefined);
    log(`[${sc.name}] Zipkin server log:\n${target.logTail(40)}`);
    await target.stop();
    throw e;
  } finally {
    if (!opts.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

const HEADER = [
  '| scenario | load | accepted spans/s | refused req | p50 ms | p90 ms | p99 ms | max ms | peak RSS MB | daemon CPU (other on its CPU) | CPU µs/span | missing | dup | verdict |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
].join('\n');

function row(r) {
  const ms = r.load.measured;
  const l = ms.latencyMs;
  const v = r.verification;
  const loadDesc = r.scenario.mode === 'rate' ? `open loop ${fmtInt(r.offeredRate)}/s` : `closed loop, ${r.params.connections} conn`;
  return `| ${r.scenario.name} | ${loadDesc} | ${fmtInt(ms.acceptedSpansPerSec)} | ${fmtInt(ms.refusedRequests)} | ${fmtMs(l.p50)} | ${fmtMs(l.p90)} | ${fmtMs(l.p99)} | ${fmtMs(l.max)} | ${Math.round(r.daemon.peakRssBytes / MB)} | ${Math.round(r.daemon.cpuUtilizationMeasured * 100)}%${r.daemon.otherLoadOnDaemonCpu === undefined ? '' : ` (${Math.round(r.daemon.otherLoadOnDaemonCpu * 100)}%)`} | ${r.daemon.cpuUsPerAcceptedSpan?.toFixed(2) ?? '—'} | ${fmtInt(v.missing)} | ${fmtInt(v.duplicates)} | ${r.ok && r.problems.length === 0 ? 'ok' : 'FAIL: ' + r.problems.join('; ')} |`;
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');

/** The commit measured, and the files that differ from it (other work in progress is part of the build). */
function gitState() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain').split('\n').filter(Boolean) };
  } catch {
    return undefined;
  }
}

async function main() {
  let opts;
  try {
    opts = options();
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n\n${HELP}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (opts.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name}\t${s.encoding} → ${s.sink}, ${s.mode}${s.rate ? ` (${s.rate})` : ''}\n`);
    return 0;
  }
  const pin = canPin();
  const mach = machine();
  log(`machine: ${mach.nproc} CPUs (${mach.cpuModel}), ${mach.memTotalGiB} GiB, Node ${mach.node}`);
  log(pin ? 'pinning: daemon on CPU 0 (taskset -c 0), load generator on CPU 1 (taskset -c 1)' : 'pinning: off (taskset missing or fewer than 2 CPUs); daemon and load generator share the CPUs');
  if (opts.profile) log('profiling: the daemon runs with --cpu-prof; figures include the profiler overhead');
  if (opts.probe) log('probe: bench/lib/probe.mjs is preloaded into the daemon (event loop delay, GC)');
  const shebang = shebangNodeFlags(join(ROOT, 'dist/cli.js'));
  if (shebang.length) log(`daemon node flags from dist/cli.js's shebang (as the installed command runs): ${shebang.join(' ')}`);
  if (opts.nodeArgs.length) log(`extra daemon node flags: ${opts.nodeArgs.join(' ')}`);
  if (opts.sets.length) log(`daemon config overrides: ${opts.sets.map((s) => `--set ${s}`).join(' ')}`);

  const results = [];
  const out = { startedAt: new Date().toISOString(), machine: mach, git: gitState(), argv: process.argv.slice(2), env: { BENCH_DURATION: process.env.BENCH_DURATION }, pinned: pin, profile: opts.profile, probe: opts.probe, daemonShebangFlags: shebang, daemonNodeArgs: opts.nodeArgs, daemonSets: opts.sets, results };
  mkdirSync(RESULTS, { recursive: true });
  const resultFile = join(RESULTS, `${stamp}.json`);
  let failed = false;
  let headerPrinted = false;
  for (const sc of opts.scenarios) {
    let rate;
    if (sc.mode === 'rate') {
      const max = [...results].reverse().find((r) => r.scenario.mode === 'max' && r.scenario.encoding === sc.encoding && r.scenario.sink === sc.sink);
      if (opts.rate !== undefined) rate = opts.rate;
      else if (typeof sc.rate === 'number') rate = sc.rate;
      else if (max) rate = Math.floor(max.load.measured.acceptedSpansPerSec / 2 / 1000) * 1000;
      else {
        rate = 50_000;
        log(`[${sc.name}] no max measured in this run and no --rate: using ${rate} spans/s (half the 100k target)`);
      }
    }
    let r;
    try {
      r = await runScenario(sc, opts, rate, pin);
    } catch (e) {
      log(`[${sc.name}] FAILED: ${e.stack ?? e}`);
      results.push({ scenario: sc, error: String(e.stack ?? e), ok: false });
      failed = true;
      writeFileSync(resultFile, JSON.stringify(out, null, 2));
      continue;
    }
    results.push(r);
    if (!r.ok || r.problems.length > 0) failed = true;
    process.stdout.write(`\n${HEADER}\n${row(r)}\n\n`);
    if (r.store) process.stdout.write(`${STORE_HEADER}\n${storeRow(r)}\n\n`);
    headerPrinted = true;
    writeFileSync(resultFile, JSON.stringify(out, null, 2));
  }
  out.finishedAt = new Date().toISOString();
  writeFileSync(resultFile, JSON.stringify(out, null, 2));
  if (headerPrinted) {
    process.stdout.write(`\n## Summary\n\n${HEADER}\n${results.filter((r) => !r.error).map(row).join('\n')}\n`);
    const stored = results.filter((r) => !r.error && r.store);
    if (stored.length) process.stdout.write(`\n### Into the store\n\n${STORE_HEADER}\n${stored.map(storeRow).join('\n')}\n`);
  }
  log(`full result: ${resultFile.slice(ROOT.length + 1)}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench: ${e.stack ?? e}\n`);
    process.exit(1);
  },
);
