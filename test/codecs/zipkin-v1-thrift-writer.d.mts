export declare const T: {
  STOP: 0; BOOL: 2; BYTE: 3; DOUBLE: 4; I16: 6; I32: 8; I64: 10; STRING: 11; STRUCT: 12; MAP: 13; SET: 14; LIST: 15;
};

export interface V1EndpointJson {
  serviceName?: string;
  ipv4?: string;
  ipv6?: string;
  port?: number;
}

export interface V1SpanJson {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  timestamp?: number;
  duration?: number;
  annotations?: { timestamp: number; value: string; endpoint?: V1EndpointJson }[];
  binaryAnnotations?: { key: string; value: string | boolean; endpoint?: V1EndpointJson }[];
  debug?: boolean;
}

export declare class TBinaryWriter {
  bytes(b: ArrayLike<number> | Buffer): this;
  byte(v: number): this;
  i16(v: number): this;
  i32(v: number): this;
  i64(v: bigint | number | string): this;
  string(s: string): this;
  field(type: number, id: number): this;
  stop(): this;
  listBegin(elementType: number, count: number): this;
  toBuffer(): Buffer;
}

export declare function writeEndpoint(w: TBinaryWriter, ep: V1EndpointJson): TBinaryWriter;
export declare function writeV1Span(w: TBinaryWriter, span: V1SpanJson): TBinaryWriter;
export declare function encodeV1ThriftSpan(span: V1SpanJson): Buffer;
export declare function encodeV1ThriftList(spans: V1SpanJson[]): Buffer;
export declare function ipv4Int(ip: string | undefined): number;
export declare function ipv6Bytes(ip: string): Buffer;
