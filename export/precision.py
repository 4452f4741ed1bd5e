"""Precision variants of the Kokoro stage graphs: int8 (as shipped), fp32 and fp16.

The one entry point the bundle builder calls (``convert_precision``), plus the public names of the
modules that do the work, so callers and tests import from one place:

* ``dequantize``: int8 -> float32 (export/dequantize.py, pattern checks in quant_patterns.py)
* ``to_fp16``, ``emulate_fp16``, ``round_weights_to_fp16``: float32 -> float16 and its CPU
  stand-ins (export/fp16.py); what stays float32 is in export/fp16_block_list.py
"""

from __future__ import annotations

import onnx

from .dequantize import INTEGER_OPS, dequantize, dequantize_graph
from .fp16 import emulate_fp16, fp16_graph, round_weights_to_fp16, to_fp16
from .fp16_block_list import FP16_OP_BLOCK_LIST, fp16_node_block_list
from .graph_utils import IR_VERSION, finish

__all__ = [
    "FP16_OP_BLOCK_LIST",
    "INTEGER_OPS",
    "IR_VERSION",
    "PRECISIONS",
    "convert_precision",
    "dequantize",
    "emulate_fp16",
    "fp16_node_block_list",
    "round_weights_to_fp16",
    "to_fp16",
]

PRECISIONS = ("int8", "fp32", "fp16")


def convert_precision(model: onnx.ModelProto, precision: str) -> onnx.ModelProto:
    """Return a copy of the int8 ``model`` in ``precision`` ("int8", "fp32" or "fp16").

    The graph interface (input / output names, float32 io) is unchanged. The result has
    ``ir_version`` 9 and passes ``onnx.checker.check_model``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
    if precision == "int8":
        out = onnx.ModelProto()
        out.CopyFrom(model)
    elif precision == "fp32":
        out = dequantize_graph(model)
    else:
        out = fp16_graph(dequantize_graph(model), FP16_OP_BLOCK_LIST, None)
    return finish(out)
