/**
 * @grpc/grpc-js, imported when the first gRPC receiver or exporter starts rather than when spanline loads:
 * loading it adds ~13 MB to the resident set (52 MB for `node -e "require('@grpc/grpc-js')"` against
 * 39 MB for bare node), which an agent whose pipelines only speak HTTP should not pay.
 */
export type GrpcJs = typeof import('@grpc/grpc-js');

let loading: Promise<GrpcJs> | undefined;

export function loadGrpcJs(): Promise<GrpcJs> {
  return (loading ??= import('@grpc/grpc-js'));
}
