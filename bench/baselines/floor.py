"""The physical floor: a bare process that imports onnxruntime and creates the bundle's graph sessions
(same files, same options, in parallel as the engine does), then says so. Nothing else is imported.

    python -m bench.baselines.floor <bundle_dir> [precision]   -> prints "ready" when the sessions exist
"""
from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    bundle, precision = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "int8")
    import onnxruntime as ort

    with open(os.path.join(bundle, "manifest.json")) as f:
        graphs = [g for g in json.load(f)["graphs"] if g["precision"] == precision]

    # the engine's default CPU memory (emotivoice_srv/graphs/session.py): one process-wide arena
    info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(info, None)

    def make(graph: dict):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = os.cpu_count() or 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.use_env_allocators", "1")
        opts.enable_mem_pattern = False
        if graph.get("optimized"):  # stored optimized at export: created with optimization off
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return ort.InferenceSession(os.path.join(bundle, graph["file"]), sess_options=opts,
                                    providers=["CPUExecutionProvider"])

    with ThreadPoolExecutor(len(graphs)) as pool:
        sessions = list(pool.map(make, graphs))
    print("ready", len(sessions), flush=True)


if __name__ == "__main__":
    main()
