"""`--emit ENGINE DIR`: launch commands and config files for a search row, per serving engine.

Each engine's files name the version their flags target (ENGINES below) and the source the
flags were read from; a row the engine cannot express is refused with the reason (an
InputError), never rewritten into something else. Mapping of hundredx's degrees (docs/design.md):
a replica is tp x pp devices; attention_dp runs attention data-parallel over the tp ranks;
ep <= tp splits experts inside a replica (moe_tp = tp / ep); ep > tp is one EP group over
ep / tp attention-DP replicas (one engine instance of ep devices).

  vllm    vLLM 0.11.0 `vllm serve`: --tensor-parallel-size, --pipeline-parallel-size,
          --data-parallel-size, --enable-expert-parallel (EP = TP x DP, MoE TP 1, so ep must be
          1 or tp x dp of the instance), --max-num-seqs, --kv-cache-dtype fp8,
          --speculative-config {"method": "mtp", ...}; disaggregated: --kv-transfer-config with
          NixlConnector (docs.vllm.ai nixl_connector_usage; vllm/config/speculative.py 0.11.0)
  sglang  SGLang 0.5.4 `python -m sglang.launch_server`: --tp-size, --dp-size,
          --enable-dp-attention, --ep-size, --moe-a2a-backend deepep, --max-running-requests,
          --kv-cache-dtype fp8_e4m3, --speculative-algorithm EAGLE (MTP); disaggregated:
          --disaggregation-mode prefill|decode and sglang_router --pd-disaggregation
          (docs.sglang.io server arguments and PD disaggregation; serving_facts.md §2b)
  trtllm  TensorRT-LLM 1.1 `trtllm-serve`: --tp_size, --pp_size, --ep_size, --max_batch_size,
          --max_num_tokens, --extra_llm_api_options YAML (enable_attention_dp,
          kv_cache_config.dtype, speculative_config MTP); disaggregated: `trtllm-serve
          disaggregated -c disagg_config.yaml` with cache_transceiver_config on both sides
          (TensorRT-LLM examples/disaggregated/README.md; llm_args.py, serving_facts.md §2c)
  dynamo  NVIDIA Dynamo 0.6 with the vLLM backend: `python -m dynamo.frontend` and
          `python -m dynamo.vllm` workers taking vLLM's flags, `--is-prefill-worker` for the
          prefill pool (Dynamo examples/backends/vllm/launch/disagg.sh; docs.nvidia.com/dynamo)
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from hundredx.errors import InputError
from hundredx.fileio import atomic_write_many

ENGINES = {"vllm": "vLLM 0.11.0", "sglang": "SGLang 0.5.4", "trtllm": "TensorRT-LLM 1.1", "dynamo": "Dynamo 0.6 (vLLM)"}


def _pool(row: dict, prefix: str = "") -> dict:
    get = (lambda k: row[f"prefill_{k}"]) if prefix else (lambda k: row[k])
    tp, pp, ep, adp = int(get("tp")), int(get("pp")), int(get("ep")), bool(get("attention_dp"))
    workers = int(row["prefill_workers"] if prefix else row["dp"])
    span = max(ep // tp, 1)  # attention-DP replicas one EP group spans: one engine instance
    if workers % span:
        raise InputError("emit", f"ep={ep} tp={tp} dp={workers}", "an EP group over ep/tp replicas needs dp to be a "
                                                                   "multiple of ep/tp to split into engine instances")
    return {"tp": tp, "pp": pp, "ep": ep, "adp": adp or span > 1, "gpus": tp * pp * span, "instances": workers // span,
            "batch": int(get("batch")), "span": span}


def _vllm_args(p: dict, row: dict) -> list[str]:
    dp = p["tp"] * p["span"] if p["adp"] else 1
    tp = 1 if p["adp"] else p["tp"]
    if p["ep"] > 1 and p["ep"] != tp * dp:
        raise InputError("emit", "vllm", f"vLLM's expert parallelism is TP x DP of an instance ({tp * dp}); "
                                         f"ep={p['ep']} (moe_tp={max(p['tp'] // p['ep'], 1)}) has no vLLM flag")
    args = ["--tensor-parallel-size", str(tp), "--pipeline-parallel-size", str(p["pp"])]
    if dp > 1:
        args += ["--data-parallel-size", str(dp)]
    if p["ep"] > 1:
        args.append("--enable-expert-parallel")
    args += ["--max-num-seqs", str(max(p["batch"], 1))]
    if str(row.get("kv", "")).startswith("fp8"):
        args += ["--kv-cache-dtype", "fp8"]
    return args + _vllm_spec(row)


def _vllm_spec(row: dict) -> list[str]:
    spec = str(row.get("speculative", "none"))
    if spec == "none":
        return []
    method, k, _ = spec.split(":")
    if method != "mtp":
        raise InputError("emit", "vllm", f"speculative {spec}: only MTP rows are emitted")
    return ["--speculative-config", json.dumps({"method": "mtp", "num_speculative_tokens": int(k)})]


def _vllm(row: dict, model: str, dynamo: bool = False) -> dict[str, str]:
    lines = ["#!/usr/bin/env bash", f"# {ENGINES['dynamo' if dynamo else 'vllm']}: {row['mode']} deployment "
             f"from hundredx search ({row['devices']} GPUs)", "set -euo pipefail"]
    nixl = ["--kv-transfer-config", json.dumps({"kv_connector": "NixlConnector", "kv_role": "kv_both"})]
    if dynamo:
        lines.append("python -m dynamo.frontend --http-port 8000 &")
    pools: list[tuple[str, dict, list[str]]] = [("decode" if row["mode"] == "disagg" else "serve", _pool(row), [])]
    if row["mode"] == "disagg":
        pools.insert(0, ("prefill", _pool(row, "prefill_"), ["--is-prefill-worker"] if dynamo else []))
    for name, p, extra in pools:
        for i in range(p["instances"]):
            base = ["python", "-m", "dynamo.vllm", "--model", model] if dynamo else ["vllm", "serve", model]
            port = [] if dynamo else ["--port", str(8100 + len(lines))]
            cmd = base + _vllm_args(p, row) + port + (nixl if row["mode"] == "disagg" else []) + extra
            lines.append(f"# {name} instance {i}: {p['gpus']} GPUs\n{shlex.join(cmd)} &")
    lines.append("wait")
    return {"launch.sh": "\n".join(lines) + "\n"}


def _sglang_args(p: dict, row: dict) -> list[str]:
    args = ["--tp-size", str(p["gpus"] // p["pp"]), "--pp-size", str(p["pp"])]
    if p["adp"]:
        args += ["--dp-size", str(p["gpus"] // p["pp"]), "--enable-dp-attention"]
    if p["ep"] > 1:
        args += ["--ep-size", str(p["ep"]), "--moe-a2a-backend", "deepep"]
    args += ["--max-running-requests", str(max(p["batch"], 1))]
    if str(row.get("kv", "")).startswith("fp8"):
        args += ["--kv-cache-dtype", "fp8_e4m3"]
    spec = str(row.get("speculative", "none"))
    if spec != "none":
        _, k, _ = spec.split(":")
        args += ["--speculative-algorithm", "EAGLE", "--speculative-num-steps", k, "--speculative-eagle-topk", "1",
                 "--speculative-num-draft-tokens", str(int(k) + 1)]
    return args


def _sglang(row: dict, model: str) -> dict[str, str]:
    lines = ["#!/usr/bin/env bash", f"# {ENGINES['sglang']}: {row['mode']} deployment from hundredx search", "set -eu"]
    pools = [("decode" if row["mode"] == "disagg" else "serve", _pool(row))]
    if row["mode"] == "disagg":
        pools.insert(0, ("prefill", _pool(row, "prefill_")))
    urls: dict[str, list[str]] = {"prefill": [], "decode": []}
    for name, p in pools:
        for i in range(p["instances"]):
            port = 30000 + len(lines)
            mode = ["--disaggregation-mode", name] if row["mode"] == "disagg" else []
            cmd = ["python", "-m", "sglang.launch_server", "--model-path", model] + _sglang_args(p, row) + mode
            lines.append(f"# {name} instance {i}: {p['gpus']} GPUs\n{shlex.join(cmd + ['--port', str(port)])} &")
            urls.setdefault(name, []).append(f"http://127.0.0.1:{port}")
    if row["mode"] == "disagg":
        router = ["python", "-m", "sglang_router.launch_router", "--pd-disaggregation"]
        router += [x for u in urls["prefill"] for x in ("--prefill", u)] + [x for u in urls["decode"]
                                                                            for x in ("--decode", u)]
        lines.append(shlex.join(router) + " &")
    lines.append("wait")
    return {"launch.sh": "\n".join(lines) + "\n"}


def _trt_options(p: dict, row: dict, disagg: str) -> str:
    opts: dict = {"enable_attention_dp": p["adp"], "max_batch_size": max(p["batch"], 1)}
    if str(row.get("kv", "")).startswith("fp8"):
        opts["kv_cache_config"] = {"dtype": "fp8"}
    spec = str(row.get("speculative", "none"))
    if spec != "none":
        opts["speculative_config"] = {"decoding_type": "MTP", "num_nextn_predict_layers": int(spec.split(":")[1])}
    if disagg:
        opts["cache_transceiver_config"] = {"backend": "UCX", "max_tokens_in_buffer": int(row.get("isl", 8192))}
        if disagg == "context":
            opts["disable_overlap_scheduler"] = True
    return json.dumps(opts, indent=2) + "\n"  # JSON is YAML


def _trtllm(row: dict, model: str) -> dict[str, str]:
    files: dict[str, str] = {}
    lines = ["#!/usr/bin/env bash", f"# {ENGINES['trtllm']}: {row['mode']} deployment", "set -eu"]
    pools: list[tuple[str, dict]] = [("generation" if row["mode"] == "disagg" else "serve", _pool(row))]
    if row["mode"] == "disagg":
        pools.insert(0, ("context", _pool(row, "prefill_")))
    urls: dict[str, list[str]] = {}
    for name, p in pools:
        cfg = f"{name}_options.yaml"
        files[cfg] = _trt_options(p, row, name if row["mode"] == "disagg" else "")
        for i in range(p["instances"]):
            port = 8001 + len(lines)
            cmd = ["trtllm-serve", model, "--host", "127.0.0.1", "--port", str(port), "--backend", "pytorch",
                   "--tp_size", str(p["gpus"] // p["pp"]), "--pp_size", str(p["pp"]), "--ep_size", str(p["ep"]),
                   "--max_batch_size", str(max(p["batch"], 1)), "--extra_llm_api_options", cfg]
            lines.append(f"# {name} instance {i}: {p['gpus']} GPUs\n{shlex.join(cmd)} &")
            urls.setdefault(name, []).append(f"127.0.0.1:{port}")
    if row["mode"] == "disagg":
        files["disagg_config.yaml"] = json.dumps({"hostname": "127.0.0.1", "port": 8000, "backend": "pytorch",
                                                  "context_servers": {"num_instances": len(urls["context"]),
                                                                      "urls": urls["context"]},
                                                  "generation_servers": {"num_instances": len(urls["generation"]),
                                                                         "urls": urls["generation"]}}, indent=2)
        lines.append("trtllm-serve disaggregated -c disagg_config.yaml &")
    lines.append("wait")
    files["launch.sh"] = "\n".join(lines) + "\n"
    return files


def emit(engine: str, out: str | Path, row: dict, model: str) -> list[Path]:
    """Write ENGINE's launch files for `row` (a search row with its command) under `out`."""
    if engine not in ENGINES:
        raise InputError("emit", engine, f"engine must be one of {', '.join(ENGINES)}")
    files = {"vllm": lambda: _vllm(row, model), "dynamo": lambda: _vllm(row, model, dynamo=True),
             "sglang": lambda: _sglang(row, model), "trtllm": lambda: _trtllm(row, model)}[engine]()
    readme = (f"# {ENGINES[engine]} launch files from hundredx search\n\nFlags target {ENGINES[engine]}; "
              f"sources and the degree mapping: docs/search.md (Export) and hundredx/search/emit.py.\n\n"
              f"Configuration ({row['mode']}, {row['devices']} GPUs): predicted TTFT {row['ttft_s']:.3f} s, "
              f"TPOT {row['tpot_s'] * 1e3:.1f} ms, {row['output_tokens_per_s_per_device']:.1f} output tokens/s "
              f"per GPU.\nReproduce the prediction:\n\n    {row['command']}\n")
    files["README.md"] = readme
    root = Path(out)
    return atomic_write_many({root / name: text for name, text in files.items()}, "emit")


__all__ = ["ENGINES", "emit"]
