import type { Server } from 'node:http';

/** Splits "host:port" (":port" and "[v6]:port" too) for `listen`. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  let host = endpoint.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host || '0.0.0.0', port: Number(endpoint.slice(i + 1)) };
}

/** Listens on an endpoint; rejects with a message naming it when the port is taken. */
export function listen(server: Server, endpoint: string): Promise<void> {
  const { host, port } = parseEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${endpoint}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections?.();
  });
}
