// Builds the benchmark's LSTM as an ONNX graph: LSTM (opset 14) → Reshape → Gemm, written with
// protobufjs from the subset of onnx.proto it needs (field numbers as in onnx/onnx.proto).
import protobuf from 'protobufjs';
import { outputSize } from './common.mjs';

const ONNX_SUBSET = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  optional AttributeType type = 20;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string domain = 7;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional GraphProto graph = 7;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  optional Tensor tensor_type = 1;
}
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
`;

const FLOAT = 1;
const INT64 = 7;

function floatTensor(name, dims, data) {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { name, dims, dataType: FLOAT, rawData: raw };
}

function valueInfo(name, dims) {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
}

/** Keras gate blocks (i, f, c, o) of a [rows, 4H] row-major matrix → ONNX [4H, rows] in (i, o, f, c). */
function kerasToOnnxGates(m, rows, H) {
  const order = [0, 3, 1, 2]; // ONNX block g takes Keras block order[g]
  const out = new Float32Array(4 * H * rows);
  for (let g = 0; g < 4; g++) {
    const kg = order[g];
    for (let h = 0; h < H; h++) for (let r = 0; r < rows; r++) out[(g * H + h) * rows + r] = m[r * 4 * H + kg * H + h];
  }
  return out;
}

/**
 * Returns the serialized ModelProto. Input X: [T, B, I] (time-major, ONNX's layout 0);
 * output Y: [B, O]. Weights come from `lstmWeights(c)` (Keras layout).
 */
export function buildLstmOnnx(c, w) {
  const { T, B, I, H } = c;
  const O = outputSize(c);
  const root = protobuf.parse(ONNX_SUBSET, { keepCase: false }).root;
  const ModelProto = root.lookupType('onnx.ModelProto');
  const Wt = kerasToOnnxGates(w.kernel, I, H); // [4H, I]
  const Rt = kerasToOnnxGates(w.recurrent, H, H); // [4H, H]
  const bias = new Float32Array(8 * H);
  bias.set(kerasToOnnxGates(w.bias, 1, H), 0); // Wb; Rb stays 0
  const graph = {
    name: 'recur_bench_lstm',
    node: [
      {
        opType: 'LSTM',
        name: 'lstm',
        input: ['X', 'W', 'R', 'B'],
        output: ['', 'Y_h'],
        attribute: [{ name: 'hidden_size', type: 2, i: H }],
      },
      { opType: 'Reshape', name: 'squeeze', input: ['Y_h', 'shape'], output: ['h_last'] },
      { opType: 'Gemm', name: 'head', input: ['h_last', 'Wd', 'bd'], output: ['Y'] },
    ],
    initializer: [
      floatTensor('W', [1, 4 * H, I], Wt),
      floatTensor('R', [1, 4 * H, H], Rt),
      floatTensor('B', [1, 8 * H], bias),
      { name: 'shape', dims: [2], dataType: INT64, int64Data: [-1, H] },
      floatTensor('Wd', [H, O], w.headW),
      floatTensor('bd', [O], w.headB),
    ],
    input: [valueInfo('X', [T, B, I])],
    output: [valueInfo('Y', [B, O])],
  };
  const msg = ModelProto.fromObject({
    irVersion: 8,
    producerName: 'recur-bench',
    producerVersion: '0',
    opsetImport: [{ domain: '', version: 14 }],
    graph,
  });
  return ModelProto.encode(msg).finish();
}
