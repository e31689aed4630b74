/**
 * Aggregates V8 .cpuprofile files (node --cpu-prof) into self and total time per function and self time
 * per module, the way DevTools' bottom-up view does: sample i lasts until sample i+1.
 *
 * It also finds busy stretches: runs of samples with no `(idle)` between them, i.e. times the event loop
 * never waited for I/O. A long one delays every request that arrives during it, so their lengths and
 * what filled them explain a latency tail. Stretches starting in the first STARTUP_MS (module loading)
 * are left out.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function aggregateDir(dir, root = process.cwd()) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const profiles = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  return { files, ...aggregate(profiles, root) };
}

const STARTUP_MS = 2000;
const STRETCH_BOUNDS_MS = [20, 50, 100, 200, 500];
/** Stretches at least this long are broken down by module. */
const LONG_STRETCH_MS = 50;

export function aggregate(profiles, root = process.cwd()) {
  const fns = new Map(); // key -> { name, location, module, selfUs, totalUs }
  const modules = new Map(); // module -> selfUs
  let totalUs = 0;
  const stretches = []; // ms of each busy stretch
  const inLong = new Map(); // module -> us, within long stretches
  for (const p of profiles) {
    const byId = new Map();
    const parent = new Map();
    for (const n of p.nodes) byId.set(n.id, n);
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const keyOf = new Map();
    for (const n of p.nodes) {
      const cf = n.callFrame;
      const location = shortUrl(cf.url, root) + (cf.url ? `:${cf.lineNumber + 1}` : '');
      // A nameless frame without a script is V8/C++ work on behalf of its caller (e.g. flattening and
      // UTF-8-encoding a string inside Buffer.from); name it after the caller so it can be told apart.
      const caller = byId.get(parent.get(n.id))?.callFrame;
      const name = cf.functionName || (cf.url ? '(anonymous)' : `(native, called from ${caller?.functionName || '?'})`);
      const key = `${name}\u0000${location}`;
      keyOf.set(n.id, key);
      if (!fns.has(key)) fns.set(key, { name, location, module: moduleOf(cf.url, name, root), selfUs: 0, totalUs: 0 });
    }
    const { samples, timeDeltas } = p;
    let t = p.startTime;
    const stamps = new Array(samples.length);
    for (let i = 0; i < samples.length; i++) stamps[i] = t += timeDeltas[i];
    let run; // { startUs, us, modules: Map }
    const endRun = () => {
      if (run && run.startUs - p.startTime >= STARTUP_MS * 1000) {
        stretches.push(run.us / 1000);
        if (run.us >= LONG_STRETCH_MS * 1000) for (const [m, us] of run.modules) inLong.set(m, (inLong.get(m) ?? 0) + us);
      }
      run = undefined;
    };
    for (let i = 0; i < samples.length; i++) {
      const dur = Math.max(0, (i + 1 < samples.length ? stamps[i + 1] : p.endTime) - stamps[i]);
      totalUs += dur;
      const f = fns.get(keyOf.get(samples[i]));
      f.selfUs += dur;
      modules.set(f.module, (modules.get(f.module) ?? 0) + dur);
      if (f.name === '(idle)') endRun();
      else {
        run ??= { startUs: stamps[i], us: 0, modules: new Map() };
        run.us += dur;
        run.modules.set(f.module, (run.modules.get(f.module) ?? 0) + dur);
      }
      // Total time: count each function once per sample even when it recurses.
      const seen = new Set();
      for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
        const key = keyOf.get(id);
        if (seen.has(key)) continue;
        seen.add(key);
        fns.get(key).totalUs += dur;
      }
    }
    endRun();
  }
  const pct = (us) => Math.round((us / totalUs) * 1000) / 10;
  const functions = [...fns.values()]
    .filter((f) => f.name !== '(root)')
    .sort((a, b) => b.selfUs - a.selfUs)
    .map((f) => ({ name: f.name, location: f.location, module: f.module, selfMs: Math.round(f.selfUs / 1000), selfPct: pct(f.selfUs), totalPct: pct(f.totalUs) }));
  const byModule = [...modules.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([module, us]) => ({ module, selfMs: Math.round(us / 1000), selfPct: pct(us) }));
  const longUs = [...inLong.values()].reduce((a, b) => a + b, 0);
  const busy = {
    stretches: stretches.length,
    atLeastMs: Object.fromEntries(STRETCH_BOUNDS_MS.map((b) => [b, stretches.filter((x) => x >= b).length])),
    longestMs: stretches.reduce((a, b) => Math.max(a, b), 0),
    longStretchMs: LONG_STRETCH_MS,
    inLongStretches: [...inLong.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([module, us]) => ({ module, ms: Math.round(us / 1000), pct: Math.round((us / longUs) * 1000) / 10 })),
  };
  return { totalMs: Math.round(totalUs / 1000), functions, byModule, busy };
}

function shortUrl(url, root) {
  if (!url) return '';
  let u = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  if (u.startsWith(root + '/')) u = u.slice(root.length + 1);
  return u;
}

/** A coarse owner: our own dist file, an npm package, a Node internal module, or a V8 pseudo-frame. */
function moduleOf(url, name, root) {
  if (!url) return /^\((garbage collector|idle|program|root)\)$/.test(name) ? name : '(native)';
  const u = shortUrl(url, root);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = u.slice(nm + 13).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (u.startsWith('node:')) return u.split('/').slice(0, 2).join('/');
  return u;
}

/** Markdown tables of the top functions by self time, and time by module. */
export function formatProfile(agg, top = 25) {
  const lines = [];
  lines.push(`Profile: ${agg.files.length} file(s), ${(agg.totalMs / 1000).toFixed(1)} s of samples`);
  lines.push('');
  lines.push('| # | self % | total % | self ms | function | location |');
  lines.push('|---:|---:|---:|---:|---|---|');
  agg.functions.slice(0, top).forEach((f, i) => {
    lines.push(`| ${i + 1} | ${f.selfPct.toFixed(1)} | ${f.totalPct.toFixed(1)} | ${f.selfMs} | \`${f.name}\` | ${f.location || '—'} |`);
  });
  lines.push('');
  lines.push('| self % | self ms | module |');
  lines.push('|---:|---:|---|');
  for (const m of agg.byModule.slice(0, 15)) lines.push(`| ${m.selfPct.toFixed(1)} | ${m.selfMs} | ${m.module} |`);
  const b = agg.busy;
  lines.push('');
  lines.push(
    `Busy stretches (event loop never idle), after start-up: ${b.stretches}; longest ${Math.round(b.longestMs)} ms; ` +
      Object.entries(b.atLeastMs).map(([ms, n]) => `≥${ms} ms: ${n}`).join(', ') + '.',
  );
  if (b.inLongStretches.length > 0) {
    lines.push(`Inside stretches ≥${b.longStretchMs} ms: ` + b.inLongStretches.slice(0, 6).map((m) => `${m.module} ${m.pct}%`).join(', ') + '.');
  }
  return lines.join('\n');
}
