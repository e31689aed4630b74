/**
 * TLS settings of clients (the `otlp`, `otlphttp` and `zipkin` exporters), with the OpenTelemetry
 * Collector's key names (`configtls`). Files are read when the component starts, not when the config is
 * validated.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { s, type InferShape } from '../config/schema.js';

export function tlsClientSchema() {
  return s
    .object({
      insecure: s
        .boolean()
        .default(false)
        .describe('gRPC only: connect in plaintext, without TLS. (For HTTP the URL scheme decides.)'),
      insecure_skip_verify: s.boolean().default(false).describe('Do not verify the server certificate (chain and host name).'),
      ca_file: s.string().nonEmpty().optional().describe('PEM file with the CA certificates that verify the server (default: the system roots).'),
      cert_file: s.string().nonEmpty().optional().describe('PEM client certificate, for mutual TLS; needs `key_file`.'),
      key_file: s.string().nonEmpty().optional().describe('PEM private key of `cert_file`.'),
    })
    .describe('TLS of the connection to the backend.');
}

export type TlsClientConfig = InferShape<ReturnType<typeof tlsClientSchema>['shape']>;

/** Problems across keys, relative to the `tls` key. */
export function validateTls(tls: TlsClientConfig): { path: string[]; message: string }[] {
  if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
    return [{ path: ['tls', tls.cert_file === undefined ? 'cert_file' : 'key_file'], message: 'cert_file and key_file must be set together' }];
  }
  return [];
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads the configured files (relative to the working directory); the error names the key and file. */
export async function loadTlsFiles(tls: TlsClientConfig): Promise<TlsMaterial> {
  const read = async (key: 'ca_file' | 'cert_file' | 'key_file') => {
    const path = tls[key];
    if (path === undefined) return undefined;
    try {
      return await readFile(resolve(path));
    } catch (e) {
      throw new Error(`tls.${key}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  const [ca, cert, key] = await Promise.all([read('ca_file'), read('cert_file'), read('key_file')]);
  return { ca, cert, key };
}
