/**
 * Writes small ONNX graphs as bytes (the protobuf wire format of onnx.proto's ModelProto), for the
 * helper sessions the engine builds itself: the KV-cache row operations that run where the cache
 * lives (deviceKvOps.ts). Only what those graphs use: tensor inputs and outputs with symbolic
 * dimensions, nodes with integer attributes.
 */

/** A tensor input or output: its element type and one name per dimension (symbolic sizes). */
export interface GraphValue {
  name: string;
  type: 'float32' | 'int64';
  dims: readonly string[];
}

export interface GraphNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  intAttributes?: Readonly<Record<string, number>>;
}

export interface GraphSpec {
  name: string;
  inputs: readonly GraphValue[];
  outputs: readonly GraphValue[];
  nodes: readonly GraphNode[];
  /** Default opset 17 (Gather, Concat, Slice as used here). */
  opset?: number;
}

/** onnx.proto TensorProto.DataType. */
const ELEMENT_TYPE = { float32: 1, int64: 7 } as const;
/** onnx.proto AttributeProto.AttributeType.INT. */
const ATTRIBUTE_INT = 2;
/** IR version 8 (ONNX 1.10+): every onnxruntime this engine runs on reads it. */
const IR_VERSION = 8;

/** The serialized ModelProto of `spec`, ready for InferenceSession.create(bytes). */
export function encodeModel(spec: GraphSpec): Uint8Array {
  const graph = new ProtoWriter();
  for (const node of spec.nodes) graph.message(1, encodeNode(node));
  graph.string(2, spec.name);
  for (const input of spec.inputs) graph.message(11, encodeValueInfo(input));
  for (const output of spec.outputs) graph.message(12, encodeValueInfo(output));

  const opset = new ProtoWriter();
  opset.string(1, '');
  opset.varint(2, spec.opset ?? 17);

  const model = new ProtoWriter();
  model.varint(1, IR_VERSION);
  model.string(2, 'caspo');
  model.message(7, graph.bytes());
  model.message(8, opset.bytes());
  return model.bytes();
}

function encodeNode(node: GraphNode): Uint8Array {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(4, node.opType);
  for (const [name, value] of Object.entries(node.intAttributes ?? {})) {
    const attribute = new ProtoWriter();
    attribute.string(1, name);
    attribute.varint(3, value);
    attribute.varint(20, ATTRIBUTE_INT);
    w.message(5, attribute.bytes());
  }
  return w.bytes();
}

function encodeValueInfo(value: GraphValue): Uint8Array {
  const shape = new ProtoWriter();
  for (const dim of value.dims) {
    const dimension = new ProtoWriter();
    dimension.string(2, dim); // dim_param
    shape.message(1, dimension.bytes());
  }
  const tensorType = new ProtoWriter();
  tensorType.varint(1, ELEMENT_TYPE[value.type]);
  tensorType.message(2, shape.bytes());
  const type = new ProtoWriter();
  type.message(1, tensorType.bytes());
  const info = new ProtoWriter();
  info.string(1, value.name);
  info.message(2, type.bytes());
  return info.bytes();
}

/** Protobuf fields in order: varints (non-negative, as these graphs need) and length-delimited bytes. */
class ProtoWriter {
  private readonly parts: number[] = [];

  varint(field: number, value: number): void {
    this.key(field, 0);
    this.rawVarint(value);
  }

  string(field: number, text: string): void {
    this.message(field, new TextEncoder().encode(text));
  }

  message(field: number, payload: Uint8Array): void {
    this.key(field, 2);
    this.rawVarint(payload.length);
    for (const byte of payload) this.parts.push(byte);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }

  private key(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`protobuf varint: ${value} is not a non-negative safe integer`);
    let v = value;
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
  }
}
