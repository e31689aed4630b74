/**
 * The load generator, run by bench/run.mjs in its own process (over IPC) so that it gets its own core.
 *
 *   parent → {type:'config', ...}   child → {type:'ready', avgSpanBytes, ...}
 *   parent → {type:'start'}         child → {type:'progress', ...} every second, then {type:'done', result}
 *
 * Request k carries template k % pool with span sequence numbers k*batch … k*batch+batch-1 stamped in
 * (see lib/workload.mjs); `statuses[k]` records what became of it, which is all the verifier needs.
 *
 * Modes:
 *   max  — closed loop: `connections` lanes, each sends its next request when the previous one answered.
 *          Latency is measured from send to response.
 *   rate — open loop: request k is due at start + k*batch/rate, whatever happened before. Due requests
 *          wait for a free connection; latency is measured from the due time, not the send time, so a
 *          stall shows up in every request it delays (no coordinated omission).
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunIds } from './lib/ids.mjs';
import { NumberLog, summarize } from './lib/stats.mjs';
import { buildWorkload } from './lib/workload.mjs';
import { STATUS } from './lib/status.mjs';

if (!process.send) {
  process.stderr.write('bench/load.mjs is started by bench/run.mjs (it needs an IPC channel)\n');
  process.exit(2);
}

let cfg;
let workload;
let ids;

process.on('message', (msg) => {
  if (msg.type === 'config') {
    cfg = msg.config;
    ids = RunIds.from(cfg.ids);
    buildWorkload(cfg).then((w) => {
      workload = w;
      process.send({ type: 'ready', avgSpanBytes: w.avgSpanBytes, avgRequestBytes: w.avgRequestBytes });
    }, fail);
  } else if (msg.type === 'start') {
    run().then((result) => process.send({ type: 'done', result }, () => process.exit(0)), fail);
  }
});

function fail(e) {
  process.send({ type: 'error', message: e?.stack ?? String(e) }, () => process.exit(1));
}

async function run() {
  const { templates, encoding } = workload;
  const batch = cfg.batch;
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.connections, maxFreeSockets: cfg.connections, scheduling: 'fifo' });
  const statuses = new NumberLog(Uint8Array, 1 << 16);
  const latencies = new NumberLog(Float64Array); // measured requests only, ms
  const sendDelays = new NumberLog(Float64Array); // rate mode: send time - due time, ms
  const otherStatuses = {};
  const errors = {};
  const maxLen = Math.max(...templates.map((t) => t.bytes.length));
  const timeline = []; // per second of the measured phase: accepted spans, refused requests
  let acceptedSpans = 0, refusedRequests = 0, otherRequests = 0, errorRequests = 0; // all phases
  let mAccepted = 0, mRefused = 0, mOther = 0, mErrors = 0, mRequests = 0; // measured phase
  let lastMeasuredDone = 0;

  const t0 = performance.now();
  const warmupEnd = t0 + cfg.warmupS * 1000;
  const end = warmupEnd + cfg.durationS * 1000;
  const cpu0 = process.cpuUsage();

  const progress = setInterval(() => {
    process.send({ type: 'progress', elapsedS: (performance.now() - t0) / 1000, acceptedSpans, refusedRequests, errorRequests, otherRequests, warmup: performance.now() < warmupEnd });
  }, 1000);

  /** POSTs one body; resolves with [status code or 0, retry-after seconds or error code]. */
  let post = (body) =>
    new Promise((resolve) => {
      const req = http.request(
        { agent, host: cfg.host, port: cfg.port, method: 'POST', path: encoding.path, headers: { 'content-type': encoding.contentType, 'content-length': body.length } },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve([res.statusCode, res.headers['retry-after']]));
          res.on('error', (e) => resolve([0, e.code ?? e.message]));
        },
      );
      req.on('socket', (s) => s.setNoDelay(true));
      req.on('error', (e) => resolve([0, e.code ?? e.message]));
      req.end(body);
    });

  // OTLP/HTTP answers 200; the Zipkin receiver 202. Either is recorded as 202 (accepted).
  const acceptedStatus = encoding.acceptedStatus ?? 202;
  let grpcClients;
  if (encoding.transport === 'grpc') {
    // gRPC: a few keep-alive channels (each its own subchannel/HTTP2 connection), the lanes spread over
    // them; raw Buffer (de)serializers, the bodies are the OTLP protobuf ExportTraceServiceRequest.
    const grpc = createRequire(import.meta.url)('@grpc/grpc-js');
    const nChannels = Math.min(cfg.connections, 4);
    const ident = (b) => b;
    grpcClients = Array.from({ length: nChannels }, (_, i) =>
      new grpc.Client(`${cfg.host}:${cfg.port}`, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.max_send_message_length': 64 * 1024 * 1024,
        'spanline.bench.channel': i,
      }),
    );
    let rr = 0;
    const S = grpc.status;
    post = (body) =>
      new Promise((resolve) => {
        const client = grpcClients[rr++ % grpcClients.length];
        // The lane reuses its scratch buffer: hand grpc-js its own copy.
        client.makeUnaryRequest(encoding.path, ident, ident, Buffer.from(body), (err) => {
          if (!err) return resolve([acceptedStatus]);
          // Back-pressure (the daemon's 503 equivalents) is "refused"; anything else another outcome.
          if (err.code === S.RESOURCE_EXHAUSTED || err.code === S.UNAVAILABLE) return resolve([503, undefined]);
          resolve([1000 + err.code, err.details]);
        });
      });
  }

  /** Copies request k's template into `scratch`, stamps its ids; returns the body. */
  const prepare = (k, scratch) => {
    const t = templates[k % templates.length];
    t.bytes.copy(scratch);
    encoding.stamp(t, scratch, k * batch, ids);
    return scratch.subarray(0, t.bytes.length);
  };

  /** Records the outcome of request k; `measured` if it belongs to the measured phase. */
  const record = (k, code, extra, startedOrDue, done, measured) => {
    let st;
    if (code === acceptedStatus) {
      st = STATUS.ACCEPTED;
      acceptedSpans += batch;
    } else if (code === 503) {
      st = STATUS.REFUSED;
      refusedRequests++;
    } else if (code === 0) {
      st = STATUS.ERROR;
      errorRequests++;
      errors[extra] = (errors[extra] ?? 0) + 1;
    } else {
      st = STATUS.OTHER;
      otherRequests++;
      otherStatuses[code] = (otherStatuses[code] ?? 0) + 1;
    }
    statuses.set(k, st);
    if (!measured) return;
    mRequests++;
    latencies.push(done - startedOrDue);
    lastMeasuredDone = Math.max(lastMeasuredDone, done);
    const sec = Math.max(0, Math.floor((done - warmupEnd) / 1000));
    timeline[sec] ??= { acceptedSpans: 0, refused: 0 };
    if (st === STATUS.ACCEPTED) {
      mAccepted += batch;
      timeline[sec].acceptedSpans += batch;
    } else if (st === STATUS.REFUSED) {
      mRefused++;
      timeline[sec].refused++;
    } else if (st === STATUS.ERROR) mErrors++;
    else mOther++;
  };

  const lanes = [];
  if (cfg.mode === 'max') {
    let next = 0;
    for (let c = 0; c < cfg.connections; c++) {
      lanes.push(
        (async () => {
          const scratch = Buffer.allocUnsafe(maxLen);
          for (;;) {
            const started = performance.now();
            if (started >= end) return;
            const k = next++;
            const body = prepare(k, scratch);
            const [code, extra] = await post(body);
            const done = performance.now();
            record(k, code, extra, started, done, started >= warmupEnd);
            // A refused sender backs off briefly (Retry-After is ≥ 1 s, far too coarse for a benchmark
            // lane); it then sends the next request — refused spans are never resent, only counted.
            if (code === 503) await sleep(Math.min(cfg.refusedBackoffMs, Number(extra ?? 1) * 1000));
            else if (code === 0) await sleep(10);
          }
        })(),
      );
    }
  } else {
    const intervalMs = (batch / cfg.rate) * 1000;
    const due = []; // FIFO of [k, dueTime]
    let head = 0;
    let scheduled = 0;
    let schedulingDone = false;
    const idle = []; // resolvers of lanes waiting for work
    const wake = () => {
      while (idle.length > 0 && head < due.length) idle.pop()();
    };
    const tick = () => {
      const now = performance.now();
      for (;;) {
        const at = t0 + scheduled * intervalMs;
        if (at >= end) {
          schedulingDone = true;
          for (const w of idle.splice(0)) w();
          return;
        }
        if (at > now) break;
        due.push([scheduled++, at]);
      }
      wake();
      setTimeout(tick, Math.max(0, t0 + scheduled * intervalMs - performance.now()));
    };
    for (let c = 0; c < cfg.connections; c++) {
      lanes.push(
        (async () => {
          const scratch = Buffer.allocUnsafe(maxLen);
          for (;;) {
            if (head === due.length) {
              if (schedulingDone) return;
              await new Promise((resolve) => idle.push(resolve));
              continue;
            }
            const [k, at] = due[head];
            due[head++] = undefined;
            const sent = performance.now();
            const body = prepare(k, scratch);
            const [code, extra] = await post(body);
            const done = performance.now();
            if (at >= warmupEnd) sendDelays.push(sent - at);
            record(k, code, extra, at, done, at >= warmupEnd);
          }
        })(),
      );
    }
    tick();
  }
  await Promise.all(lanes);
  clearInterval(progress);
  agent.destroy();
  for (const c of grpcClients ?? []) c.close();
  const requests = statuses.length;
  const cpu = process.cpuUsage(cpu0);
  const measuredElapsedS = Math.max(cfg.durationS, (lastMeasuredDone - warmupEnd) / 1000);
  const st = statuses.view();
  return {
    requests,
    spansSent: requests * batch,
    acceptedSpans,
    refusedRequests,
    otherRequests,
    errorRequests,
    otherStatuses,
    errors,
    measured: {
      elapsedS: measuredElapsedS,
      requests: mRequests,
      acceptedSpans: mAccepted,
      acceptedSpansPerSec: mAccepted / measuredElapsedS,
      refusedRequests: mRefused,
      otherRequests: mOther,
      errorRequests: mErrors,
      latencyMs: summarize(latencies.view()),
      sendDelayMs: cfg.mode === 'rate' ? summarize(sendDelays.view()) : undefined,
      timeline,
    },
    loadCpuS: (cpu.user + cpu.system) / 1e6,
    // Base64 of one status byte per request (0 not sent, 1 accepted, 2 refused, 3 other, 4 error).
    statuses: Buffer.from(st.buffer, st.byteOffset, st.length).toString('base64'),
  };
}
