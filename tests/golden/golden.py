"""The golden snapshot: plain-data descriptions of predictions and what they gave.

`SCENARIOS` are stacks written in the CLI's vocabulary (model, chip, parallel degrees, formats,
kernels, workload), so the descriptions do not depend on the Python API of the day; `run_*`
map them onto the current API. `tests/test_golden.py` recomputes every entry of
`predictions.json` and requires the same numbers (relative 1e-12: summation order may move the
last bits). `python tests/golden/golden.py` rewrites the file: do that only for a change the
CHANGELOG names and justifies.

The snapshot holds: every public validation case (copied in, so the test needs nothing outside
the repository), `predict` on a grid of stacks that exercises every sharding and op-graph path,
`predict` on every `examples/` stack file at its workload, a `predict_many` table, and a small
seeded serving simulation.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SNAPSHOT = HERE / "predictions.json"
PUBLIC = REPO / "data" / "validation"

L8, L70 = "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"
L405 = "meta-llama/Llama-3.1-405B-Instruct"
DSV3, DSR1, Q30 = "deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-R1", "Qwen/Qwen3-30B-A3B"

SCENARIOS: list[dict] = [
    {"model": L8, "chip": "h100-sxm", "tp": 1, "batch": 8, "isl": 1024, "osl": 256},
    {"model": L8, "chip": "h100-sxm", "tp": 1, "batch": 1, "isl": 128, "osl": 16, "cuda_graphs": False, "fused": False},
    {"model": L70, "chip": "h100-sxm", "tp": 8, "batch": 32, "isl": 2048, "osl": 256},
    {"model": L70, "chip": "h100-sxm", "tp": 4, "pp": 2, "batch": 16, "isl": 1024, "osl": 128},
    {"model": L70, "chip": "h100-sxm", "tp": 8, "dp": 2, "batch": 8, "isl": 512, "osl": 128},
    {"model": L70, "chip": "h100-sxm", "tp": 4, "cp": 2, "batch": 1, "isl": 32768, "osl": 64},
    {"model": L70, "chip": "b200", "tp": 8, "batch": 64, "weights": "nvfp4", "kv": "fp8", "isl": 1024, "osl": 1024},
    {"model": L70, "chip": "h100-sxm", "tp": 8, "batch": 16, "weights": "nvfp4", "isl": 1024, "osl": 256},
    {"model": L70, "chip": "h100-sxm", "tp": 8, "batch": 8, "attention_kernel": "fa2", "gemm_library": "cublas"},
    {"model": L70, "chip": "h100-sxm", "tp": 8, "batch": 8, "attention_kernel": "eager_unfused"},
    {"model": L70, "chip": "h100-sxm", "tp": 8, "batch": 8, "speculative": ["mtp", 3, 0.7]},
    {"model": L405, "chip": "h100-sxm", "tp": 8, "pp": 2, "batch": 32, "weights": "fp8", "kv": "fp8"},
    {"model": DSV3, "chip": "h200-sxm", "tp": 8, "ep": 8, "batch": 64, "isl": 1024, "osl": 1024,
     "attention_kernel": "flashmla", "gemm_library": "deepgemm"},
    {"model": DSV3, "chip": "h200-sxm", "tp": 8, "ep": 8, "attention_dp": True, "batch": 256, "isl": 2048, "osl": 512},
    {"model": DSV3, "chip": "h100-sxm", "tp": 8, "pp": 2, "ep": 8, "batch": 32, "nodes": 2},
    {"model": DSR1, "chip": "gb200", "tp": 8, "ep": 64, "dp": 8, "attention_dp": True, "batch": 128,
     "weights": "nvfp4", "kv": "fp8", "speculative": ["mtp", 1, 0.8], "overlap_comm": 0.8},
    {"model": DSV3, "chip": "h200-sxm", "tp": 16, "ep": 16, "batch": 32, "nodes": 2},
    {"model": Q30, "chip": "h100-sxm", "tp": 2, "batch": 64, "moe_routing": "random"},
    {"model": Q30, "chip": "h100-sxm", "tp": 2, "ep": 2, "batch": 64, "moe_routing": "tile_rounded"},
    {"model": Q30, "chip": "h100-sxm", "tp": 2, "ep": 2, "batch": 64, "routing_skew": 0.5},
    {"model": "Qwen/Qwen3-Next-80B-A3B-Instruct", "chip": "h200-sxm", "tp": 4, "batch": 16, "isl": 4096, "osl": 256},
    {"model": "google/gemma-3-27b-it", "chip": "h100-sxm", "tp": 2, "batch": 16, "isl": 8192, "osl": 256},
    {"model": "deepseek-ai/DeepSeek-V3.2", "chip": "h200-sxm", "tp": 8, "ep": 8, "batch": 16, "isl": 16384, "osl": 512},
    {"model": "deepseek-ai/DeepSeek-V4-Flash", "chip": "b200", "tp": 8, "ep": 8, "batch": 16, "isl": 65536, "osl": 512},
    {"model": "openai/gpt-oss-120b", "chip": "h100-sxm", "tp": 4, "batch": 32},
    {"model": "meta-llama/Llama-4-Maverick-17B-128E-Instruct", "chip": "h200-sxm", "tp": 8, "ep": 8, "batch": 16},
    {"model": "moonshotai/Kimi-K2-Instruct", "chip": "gb200", "tp": 8, "ep": 32, "dp": 4, "attention_dp": True,
     "batch": 64},
    {"model": L70, "chip": "mi300x", "tp": 8, "batch": 32},
    {"model": L70, "chip": "tpu-v6e", "tp": 8, "batch": 32},
    {"model": L8, "chip": "a100-sxm-80gb", "tp": 1, "batch": 16, "weights": "fp8"},
    {"model": L70, "chip": "h100-sxm", "tp": 8, "dp": 2, "batch": 16, "nodes": 2},
    {"model": L8, "chip": "groq-lpu", "tp": 8, "batch": 1, "isl": 512, "osl": 64},
]

PREDICT_MANY = {"model": [L70] * 6 + [Q30] * 2, "chip": ["h100-sxm"] * 8, "tp": [1, 2, 4, 8, 8, 8, 2, 1],
                "batch": [1, 4, 16, 64, 256, 8, 32, 32], "isl": [512, 1024, 2048, 4096, 1024, 8192, 1024, 1024],
                "osl": [128] * 8, "ep": [1] * 6 + [2, 1]}

SERVE = {"model": L70, "chip": "h100-sxm", "tp": 8, "weights": "fp8", "kv": "fp8", "isl": 1024, "osl": 256,
         "requests": 200, "concurrency": 32, "seed": 0}


def _num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return x
    return v if math.isfinite(v) else None


def _stack(desc: dict):
    from hundredx.kernel.runtime import SpeculativeSpec
    from hundredx.scenario import build

    runtime = {k: desc[k] for k in ("fused", "cuda_graphs", "gemm_library", "moe_routing", "routing_skew",
                                    "overlap_comm", "attention_kernel") if k in desc}
    if "speculative" in desc:
        method, k, a = desc["speculative"]
        runtime["speculative"] = SpeculativeSpec(method=method, draft_tokens=k, acceptance=a)
    return build(desc["model"], desc["chip"], tp=desc.get("tp", 1), pp=desc.get("pp", 1), ep=desc.get("ep", 1),
                 dp=desc.get("dp", 1), cp=desc.get("cp", 1), attention_dp=desc.get("attention_dp", False),
                 weights=desc.get("weights"), kv=desc.get("kv"), nodes=desc.get("nodes"), **runtime).stack


def _prediction(stack, isl: int, osl: int, batch: int) -> dict:
    from hundredx.predict import predict
    from hundredx.scenario import Workload

    p = predict(stack, Workload(isl=isl, osl=osl, batch=batch), check_memory=False)
    return {"ttft_s": p.ttft_s, "tpot_s": p.tpot_s, "output_tokens_per_s": p.output_tokens_per_s,
            "memory_total_bytes": p.memory.to_dict()["total"], "bottleneck": p.bottleneck,
            "ttft_lower_s": p.lower_bound["ttft_s"], "tpot_lower_s": p.lower_bound["tpot_s"],
            "ops": [[r["phase"], r["op"], _num(r["time_s"])] for r in p.breakdown],
            "fallbacks": list(p.mismatches)}


def run_scenario(desc: dict) -> dict:
    return _prediction(_stack(desc), desc.get("isl", 1024), desc.get("osl", 128), desc.get("batch", 1))


def run_example(path: Path) -> dict:
    from hundredx.stackfile import load_stack

    scn = load_stack(path)
    w = scn.workload
    return _prediction(scn.stack, w.isl, w.osl, 8)


def run_case(case: dict) -> dict:
    from hundredx.validate.base import Unpredictable
    from hundredx.validate.runner import predict_one

    try:
        return {"predicted": predict_one(case)}
    except Unpredictable as exc:
        return {"unpredicted": str(exc)}


def run_predict_many() -> dict:
    from hundredx.predict import predict_many

    df = predict_many(PREDICT_MANY)
    return {col: [_num(v) for v in df[col].tolist()] for col in ("ttft_s", "tpot_s", "output_tokens_per_s",
                                                                  "memory_per_device_bytes")}


def run_serve() -> dict:
    from hundredx.scenario import Workload
    from hundredx.serve import simulate
    from hundredx.serve.from_stack import deployment_from_stack

    d = SERVE
    stack = _stack({k: d[k] for k in ("model", "chip", "tp", "weights", "kv")})
    workload = Workload(isl=d["isl"], osl=d["osl"], num_requests=d["requests"], arrival="closed",
                        concurrency=d["concurrency"])
    s = simulate(deployment_from_stack(stack), workload, seed=d["seed"]).to_dict()
    return {k: _num(s[k]) for k in ("output_tokens_per_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "e2e_p90_s",
                                    "steps")}


def compute(cases: list[dict]) -> dict:
    examples = sorted((REPO / "examples").glob("*.yaml"))
    return {"cases": [{"case": c, **run_case(c)} for c in cases],
            "scenarios": [{"scenario": d, **run_scenario(d)} for d in SCENARIOS],
            "examples": {p.name: run_example(p) for p in examples},
            "predict_many": run_predict_many(), "serve": run_serve()}


def public_cases() -> list[dict]:
    cases = []
    for path in sorted(PUBLIC.glob("*.jsonl")):
        cases += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return cases


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    snapshot = compute(public_cases())
    SNAPSHOT.write_text(json.dumps(snapshot, indent=0, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}: {len(snapshot['cases'])} cases, {len(snapshot['scenarios'])} scenarios, "
          f"{len(snapshot['examples'])} examples")
