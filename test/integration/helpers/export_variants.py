"""Rewrites a model folder's onnx/model.onnx into the layouts other exporters write, for
test/integration/exportVariants.test.ts:

    python3 export_variants.py SOURCE.onnx OUT_DIR

- OUT_DIR/merged/decoder_model_merged.onnx: Optimum's older merged decoder. A bool `use_cache_branch` [1] input picks
  the branch: the cache branch is the source graph; the no-cache branch is the source graph reading no past (every
  past_key_values input sliced to length 0), as Optimum's first-step branch does. Fed false after the first step, it
  forgets the prompt, so the engine's tokens show whether it feeds the flag right.
- OUT_DIR/external/model.onnx + model.onnx_data: the weights in external data, as every export over 2 GB has them.
- OUT_DIR/fp16/model.onnx: float16 past/present/logits (Casts at the graph's edges), as model_fp16.onnx exports are.
"""
import copy
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper


def renamed_subgraph(graph: onnx.GraphProto, prefix: str, outer: set, rename: dict, prelude=()) -> onnx.GraphProto:
    """The graph's nodes as a subgraph: internal names prefixed (outer-scope inputs and weights keep theirs, `rename`
    maps some outer names to others) and its outputs named prefix + output."""
    def name(value: str) -> str:
        if value == "":
            return value
        if value in rename:
            return rename[value]
        return value if value in outer else prefix + value
    nodes = list(prelude)
    for node in graph.node:
        node = copy.deepcopy(node)
        node.input[:] = [name(v) for v in node.input]
        node.output[:] = [name(v) for v in node.output]
        node.name = prefix + node.name
        nodes.append(node)
    outputs = [helper.make_tensor_value_info(prefix + o.name, o.type.tensor_type.elem_type, None) for o in graph.output]
    return helper.make_graph(nodes, prefix + "branch", [], outputs)


def merged(model: onnx.ModelProto) -> onnx.ModelProto:
    model = copy.deepcopy(model)
    g = model.graph
    outer = {i.name for i in g.input} | {t.name for t in g.initializer}
    past = [i.name for i in g.input if i.name.startswith("past_key_values.")]
    cached = renamed_subgraph(g, "cache/", outer, {})
    # The first-step branch reads a past of length 0: Slice(past, [0], [0], axes=[2]).
    zero = helper.make_tensor("first/zero", TensorProto.INT64, [1], [0])
    axis = helper.make_tensor("first/axis", TensorProto.INT64, [1], [2])
    slices = [helper.make_node("Constant", [], ["first/zero"], value=zero), helper.make_node("Constant", [], ["first/axis"], value=axis)]
    slices += [helper.make_node("Slice", [p, "first/zero", "first/zero", "first/axis"], [f"first/{p}"]) for p in past]
    no_cache = renamed_subgraph(g, "first/", outer, {p: f"first/{p}" for p in past}, slices)
    outputs = [o.name for o in g.output]
    if_node = helper.make_node("If", ["use_cache_branch"], outputs, then_branch=cached, else_branch=no_cache)
    del g.node[:]
    g.node.append(if_node)
    g.input.append(helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]))
    return model


def fp16_io(model: onnx.ModelProto) -> onnx.ModelProto:
    model = copy.deepcopy(model)
    g = model.graph
    first, last = [], []
    for i in g.input:
        if i.name.startswith("past_key_values."):
            inner = i.name + "/float"
            for node in g.node:
                node.input[:] = [inner if v == i.name else v for v in node.input]
            first.append(helper.make_node("Cast", [i.name], [inner], to=TensorProto.FLOAT))
            i.type.tensor_type.elem_type = TensorProto.FLOAT16
    for o in g.output:
        inner = o.name + "/float"
        for node in g.node:
            node.output[:] = [inner if v == o.name else v for v in node.output]
            node.input[:] = [inner if v == o.name else v for v in node.input]
        last.append(helper.make_node("Cast", [inner], [o.name], to=TensorProto.FLOAT16))
        o.type.tensor_type.elem_type = TensorProto.FLOAT16
    nodes = first + list(g.node) + last
    del g.node[:]
    g.node.extend(nodes)
    return model


def main() -> None:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    model = onnx.load(str(source))
    for sub in ("merged", "external", "fp16"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    m = merged(model)
    onnx.checker.check_model(m)
    onnx.save(m, str(out / "merged" / "decoder_model_merged.onnx"))
    onnx.save_model(copy.deepcopy(model), str(out / "external" / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=0)
    f = fp16_io(model)
    onnx.checker.check_model(f)
    onnx.save(f, str(out / "fp16" / "model.onnx"))


if __name__ == "__main__":
    main()
