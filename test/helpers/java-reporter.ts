/**
 * Zipkin's own Java reporter as a test client: test/java/Send.java against the jars that test/java/pom.xml
 * names (zipkin-reporter, its URLConnection sender, the zipkin codec), fetched from Maven Central.
 *
 * The first call resolves the jars (`mvn dependency:copy-dependencies`, into the Maven repository of the
 * test services, .cache/services/m2) and compiles Send.java, into .cache/java-reporter/<hash of pom.xml
 * and Send.java>/; later calls and runs reuse that. Needs Java 17+ and Maven.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SERVICES_DIR } from './services.js';

const run = promisify(execFile);

const SOURCES = resolve('test/java');
const POM = join(SOURCES, 'pom.xml');
const SEND = join(SOURCES, 'Send.java');
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

export type JavaEncoding = 'JSON_V2' | 'PROTO3' | 'THRIFT';

let built: Promise<string> | undefined;

/** The directory holding `lib/` and `classes/`, built once per process (and once per change of the sources). */
export function buildJavaReporter(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(POM)).update(readFileSync(SEND)).digest('hex').slice(0, 12);
  const dir = resolve('.cache/java-reporter', hash);
  if (existsSync(join(dir, 'classes', 'Send.class'))) return dir;
  // Built in a private directory and renamed: a half-built harness is never taken for a finished one.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'classes'), { recursive: true });
  try {
    await run(
      'mvn',
      ['-B', '-q', '-ntp', '-f', POM, `-Dmaven.repo.local=${join(SERVICES_DIR, 'm2')}`, `${DEPENDENCY_PLUGIN}:copy-dependencies`, `-DoutputDirectory=${join(tmp, 'lib')}`],
      { maxBuffer: 16 << 20 },
    );
    await run('javac', ['--release', '17', '-d', join(tmp, 'classes'), '-cp', join(tmp, 'lib', '*'), SEND], { maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`cannot build the Java reporter harness (test/java): ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  if (!existsSync(dir)) renameSync(tmp, dir);
  else rmSync(tmp, { recursive: true, force: true });
  return dir;
}

export interface JavaSendResult {
  code: number | null;
  /** On success: Zipkin's own reading of the message sent, as Zipkin v2 JSON (what a Zipkin server stores). */
  stdout: string;
  stderr: string;
}

/** Sends the spans of a Zipkin v2 JSON file to `url` with Zipkin's Java reporter in `encoding`. */
export async function sendWithJavaReporter(url: string, encoding: JavaEncoding, spansFile: string): Promise<JavaSendResult> {
  const dir = await buildJavaReporter();
  const classpath = `${join(dir, 'lib', '*')}:${join(dir, 'classes')}`;
  return new Promise((res, rej) => {
    const child = spawn('java', ['-cp', classpath, 'Send', url, encoding, spansFile]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}
