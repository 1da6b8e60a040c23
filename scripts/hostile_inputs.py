"""Run a set of hostile inputs through the CLI and classify what each one did (issue 14).

Each case is one `python -m hundredx.cli ...` subprocess in its own empty working directory, under
a 4 GB address-space cap (resource.setrlimit RLIMIT_AS) and a timeout, with HOME, HUNDREDX_HOME
and MPLCONFIGDIR pointed at private folders. The outcome is one of:

- `clear`: exit 2 with one line `error: FIELD=VALUE: why` on stderr (the field named);
- `traceback`: a Python traceback, a crash, a timeout or a memory kill;
- `silent`: exit 0 for an input that must be refused;
- `nan`: exit 0 with `nan`/`inf` printed;
- `unclear`: exit 2 with more than one line, no field named, or an over-long line;
- `outside`: a file written anywhere but the requested outputs (cwd or HOME);
- `ok`: exit 0, finite numbers, for an input that may be accepted.

    python scripts/hostile_inputs.py            # the table and the counts
    python scripts/hostile_inputs.py --only validate --verbose
    python scripts/hostile_inputs.py --json counts.json
    HOSTILE_SRC=/path/to/old/src python scripts/hostile_inputs.py   # measure another checkout

Exit status 1 when any case is not `clear`/`ok` (so it can gate CI). docs/robustness.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("HOSTILE_SRC", ROOT / "src"))  # the hundredx under test (e.g. an older checkout)
ZOO = ROOT / "src" / "hundredx" / "zoo"
LLAMA8 = "meta-llama/Llama-3.1-8B-Instruct"
DSV3 = "deepseek-ai/DeepSeek-V3"
MEM_CAP = 4 * 1024 ** 3
TIMEOUT_S = 90
ONE_LINE = re.compile(r"^error: [^=]{1,100}=.*: .+$")
NAN = re.compile(r"(?<![A-Za-z_])(nan|NaN|-?inf|Infinity)(?![A-Za-z_])")


@dataclass
class Case:
    """One hostile input: CLI args, files to create in the cwd first, what must happen."""

    id: str
    group: str
    args: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    refuse: bool = True               # exit 0 is a silent acceptance
    outputs: tuple[str, ...] = ()     # files the command may write (relative to cwd)
    setup: str = ""                   # special setup: fifo, symlink, dir, readonly, devnull
    env: dict[str, str] = field(default_factory=dict)
    fallback: str = ""                # exit 0 is fine when stdout flags this substitution as a fallback


def _llama_config() -> dict:
    return json.loads((ZOO / LLAMA8 / "config.json").read_text())


def _config_cases() -> list[Case]:
    base = _llama_config()
    out = []

    def add(cid: str, text: str, refuse: bool = True) -> None:
        out.append(Case(f"config:{cid}", "config.json", ["model", "show", "m/config.json"],
                        {"m/config.json": text}, refuse=refuse))
        out.append(Case(f"config-predict:{cid}", "config.json",
                        ["predict", "--model", "m/config.json", "--chip", "h100-sxm", "--json"],
                        {"m/config.json": text}, refuse=refuse))

    def with_(**kv) -> str:
        return json.dumps({**base, **kv})

    add("layers-1e7", with_(num_hidden_layers=10_000_000))
    add("layers-2e8", with_(num_hidden_layers=200_000_000))
    add("layers-0", with_(num_hidden_layers=0))
    add("layers-neg", with_(num_hidden_layers=-4))
    add("layers-float", with_(num_hidden_layers=31.5))
    add("layers-str", with_(num_hidden_layers="32"))
    add("layers-bool", with_(num_hidden_layers=True))
    add("hidden-1e400", json.dumps(base).replace('"hidden_size": 4096', '"hidden_size": 1e400'))
    add("hidden-inf", json.dumps(base).replace('"hidden_size": 4096', '"hidden_size": Infinity'))
    add("hidden-nan", json.dumps(base).replace('"hidden_size": 4096', '"hidden_size": NaN'))
    add("hidden-10pow400", json.dumps(base).replace('"hidden_size": 4096', '"hidden_size": ' + "1" + "0" * 400))
    add("hidden-huge", with_(hidden_size=2 ** 40))
    add("heads-0", with_(num_attention_heads=0))
    add("kvheads-not-divisor", with_(num_key_value_heads=7))
    add("vocab-neg", with_(vocab_size=-1))
    add("inter-list", with_(intermediate_size=[14336]))
    add("rope-nan", json.dumps(base).replace('"rope_theta": 500000.0', '"rope_theta": NaN'))
    add("ctx-0", with_(max_position_embeddings=0))
    add("deep-nesting", "[" * 100_000 + "]" * 100_000)
    add("not-object", "[1, 2, 3]")
    add("empty", "")
    add("truncated", json.dumps(base)[:200])
    add("binary", "\x00\xff\xfe garbage")
    add("huge-file", json.dumps({**base, "junk": "x" * 30_000_000}))
    add("quant-unknown", with_(quantization_config={"quant_method": "frobnicate", "bits": 3}))
    add("experts-huge", with_(num_local_experts=10 ** 9, num_experts_per_tok=2))
    add("topk-gt-experts", with_(num_local_experts=4, num_experts_per_tok=8))
    add("headdim-odd", with_(head_dim=0))
    return out


STACK = """name: t
model:
  id: meta-llama/Llama-3.1-8B-Instruct
  weights: bf16
kernel:
  attention: fa3
  tp: 1
chip:
  system: h100-sxm
  devices: 1
workload:
  isl: 1024
  osl: 128
  batch: 1
"""


def _stack_cases() -> list[Case]:
    out = []

    def add(cid: str, text: str, refuse: bool = True, cmd: tuple[str, ...] = ("stack", "check")) -> None:
        out.append(Case(f"stack:{cid}", "stack YAML", [*cmd, "s.yaml"], {"s.yaml": text}, refuse=refuse))

    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    add("alias-bomb", bomb)
    add("alias-bomb-in-model", STACK.replace("id: meta-llama/Llama-3.1-8B-Instruct", "id: *x") + "\nx: &x " +
        "[" + ",".join(["y"] * 20) + "]\n")
    add("huge-message", STACK.replace("id: meta-llama/Llama-3.1-8B-Instruct", "id: " + "q" * 500_000))
    add("huge-key", STACK + ("k" * 300_000) + ": 1\n")
    add("exp-5e-2", STACK.replace("batch: 1", "batch: 1\n  tpot_limit_s: 5e-2"), refuse=False)
    add("inf-price", STACK + "cost:\n  usd_per_device_hour: .inf\n")
    add("nan-price", STACK + "cost:\n  usd_per_device_hour: .nan\n")
    add("neg-price", STACK + "cost:\n  usd_per_device_hour: -3\n")
    add("unknown-key", STACK + "bogus_key: 1\n")
    add("unknown-nested", STACK.replace("  tp: 1", "  tp: 1\n  tpp: 2"))
    add("tp-0", STACK.replace("tp: 1", "tp: 0"))
    add("tp-str", STACK.replace("tp: 1", "tp: eight"))
    add("isl-huge", STACK.replace("isl: 1024", "isl: 100000000"))
    add("isl-neg", STACK.replace("isl: 1024", "isl: -5"))
    add("batch-huge", STACK.replace("batch: 1", "batch: 1000000000"))
    add("devices-huge", STACK.replace("devices: 1", "devices: 1000000"))
    add("deep", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    add("tab-indent", STACK.replace("  weights", "\tweights"))
    add("list-top", "- 1\n- 2\n")
    add("empty", "")
    add("yes-bool", STACK.replace("tp: 1", "tp: 1\n  cuda_graphs: yes"))
    add("bad-attention", STACK.replace("attention: fa3", "attention: fa9"))
    add("bad-format", STACK.replace("weights: bf16", "weights: fp3"))
    add("python-tag", STACK + "x: !!python/object/apply:os.system ['echo hi']\n")
    add("predict-exp", STACK.replace("batch: 1", "batch: 1\n  tpot_limit_s: 5e-2"), refuse=False,
        cmd=("stack", "show"))
    return out


def _trace_cases() -> list[Case]:
    out = []
    head = "timestamp,input_length,output_length\n"
    base = ["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--trace", "t.csv", "--json"]

    def add(cid: str, text: str, refuse: bool = True, extra: tuple[str, ...] = ()) -> None:
        out.append(Case(f"trace:{cid}", "trace", [*base, *extra], {"t.csv": text}, refuse=refuse))

    add("ok", head + "0,100,10\n0.5,200,20\n", refuse=False)
    add("empty", "")
    add("header-only", head)
    add("nan-len", head + "0,nan,10\n")
    add("neg-len", head + "0,-100,10\n")
    add("zero-out", head + "0,100,0\n")
    add("inf-ts", head + "inf,100,10\n")
    add("nan-ts", head + "nan,100,10\n")
    add("float-len", head + "0,100.5,10\n")
    add("text-len", head + "0,abc,10\n")
    add("huge-len", head + "0,100000000000,10\n")
    add("longer-than-ctx", head + "0,200000,10\n")
    add("missing-col", "timestamp,input_length\n0,100\n")
    add("binary", "\x00\x01\x02\xff")
    add("with-requests", head + "0,100,10\n", extra=("--requests", "5"))
    add("directory", head, extra=("--trace", "."))
    return out


def _case_line(**over) -> dict:
    case = {"id": "g1", "kind": "gemm", "hardware": "h100-sxm", "n_devices": 1,
            "config": {"m": 4096, "n": 4096, "k": 4096, "dtype": "bf16"}, "metric": "tflops", "value": 600.0,
            "source": "test"}
    case.update(over)
    return case


def _case_cases() -> list[Case]:
    out = []

    def add(cid: str, lines: list, refuse: bool = True, extra: tuple[str, ...] = ()) -> None:
        text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
        out.append(Case(f"cases:{cid}", "case files", ["validate", "c.jsonl", "--json", *extra], {"c.jsonl": text},
                        refuse=refuse))

    good = [_case_line(id=f"g{i}", config={"m": 256 * (i + 1), "n": 4096, "k": 4096, "dtype": "bf16"})
            for i in range(4)]
    add("ok", good, refuse=False)
    add("nan", good + ['{"id": "x", "kind": "gemm", "hardware": "h100-sxm", "config": {"m": 1, "n": 1, "k": 1, '
                       '"dtype": "bf16"}, "metric": "tflops", "value": NaN, "source": "t"}'])
    add("neg", good + [_case_line(id="x", value=-5)])
    add("zero", good + [_case_line(id="x", value=0)])
    add("null", good + [_case_line(id="x", value=None)])
    add("list", good + [_case_line(id="x", value=[1, 2])])
    add("string", good + [_case_line(id="x", value="600")])
    add("bool", good + [_case_line(id="x", value=True)])
    add("inf", good + ['{"id": "x", "kind": "gemm", "hardware": "h100-sxm", "config": {"m": 1, "n": 1, "k": 1, '
                       '"dtype": "bf16"}, "metric": "tflops", "value": Infinity, "source": "t"}'])
    add("1e400", good + ['{"id": "x", "kind": "gemm", "hardware": "h100-sxm", "config": {"m": 1, "n": 1, "k": 1, '
                         '"dtype": "bf16"}, "metric": "tflops", "value": 1e400, "source": "t"}'])
    add("bad-kind", good + [_case_line(id="x", kind="bogus")])
    add("bad-json", good + ["{not json"])
    add("dup-id", good + [_case_line(id="g1")])
    add("config-nan", good + [_case_line(id="x", config={"m": "NaN", "n": 1, "k": 1, "dtype": "bf16"})])
    add("config-neg", good + [_case_line(id="x", config={"m": -4, "n": 1, "k": 1, "dtype": "bf16"})])
    add("config-zero", good + [_case_line(id="x", config={"m": 0, "n": 1, "k": 1, "dtype": "bf16"})])
    add("config-huge", good + [_case_line(id="x", config={"m": 10 ** 30, "n": 1, "k": 1, "dtype": "bf16"})])
    add("config-list", good + [_case_line(id="x", config=[1, 2])])
    add("not-object", good + ["[1, 2]"])
    add("bad-hardware", good + [_case_line(id="x", hardware="h9000")], refuse=False)  # listed as unpredicted
    add("bad-metric", good + [_case_line(id="x", metric="furlongs")])
    add("empty-file", [])
    add("ndev-0", good + [_case_line(id="x", n_devices=0)])
    add("deep", good + ["[" * 50_000 + "]" * 50_000])
    out.append(Case("cases:kind-bogus", "case files", ["validate", "c.jsonl", "--kind", "bogus"],
                    {"c.jsonl": "".join(json.dumps(x) + "\n" for x in good)}))
    out.append(Case("cases:missing-file", "case files", ["validate", "nope.jsonl"]))
    out.append(Case("cases:directory", "case files", ["validate", "."]))
    return out


def _flag_cases() -> list[Case]:
    p = ["predict", "--model", LLAMA8, "--chip", "h100-sxm"]
    s = ["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--requests", "20"]
    cases = [
        ("tp-0", [*p, "--tp", "0"]), ("pp-0", [*p, "--pp", "0"]), ("dp-0", [*p, "--dp", "0"]),
        ("cp-0", [*p, "--cp", "0"]), ("ep-0", [*p, "--ep", "0"]), ("tp-neg", [*p, "--tp", "-2"]),
        ("devices-0", [*p, "--devices", "0"]), ("devices-huge", [*p, "--devices", "1000000"]),
        ("tp-huge", [*p, "--tp", "1000000"]), ("nodes-0", [*p, "--nodes", "0"]),
        ("isl-0", [*p, "--isl", "0"]), ("osl-0", [*p, "--osl", "0"]), ("isl-neg", [*p, "--isl", "-1"]),
        ("isl-gt-ctx", [*p, "--isl", "100000000"]), ("batch-0", [*p, "--batch", "0"]),
        ("batch-huge", [*p, "--batch", "1000000000"]), ("concurrency-0", [*p, "--concurrency", "0"]),
        ("tp-abc", [*p, "--tp", "abc"]), ("unknown-flag", [*p, "--frobnicate", "1"]),
        ("prefill-tp-no-disagg", [*p, "--prefill-tp", "2"]),
        ("attn-bogus", [*p, "--attention-kernel", "bogus"]),
        ("weights-bogus", [*p, "--weights", "fp3"]), ("calibration-bogus", [*p, "--calibration", "nope"]),
        ("spec-bad", [*p, "--spec", "mtp:x:y"]), ("spec-accept-2", [*p, "--spec", "mtp:1:2.0"]),
        ("spec-nan", [*p, "--spec", "mtp:1:nan"]), ("routing-bogus", [*p, "--moe-routing", "bogus"]),
        ("disagg-bad", [*p, "--disagg", "8"]), ("disagg-0", [*p, "--disagg", "0:0"]),
        ("what-if-bad", [*p, "--what-if", "model.nope=3"]), ("what-if-nan", [*p, "--what-if", "chip.hbm_bw=nan"]),
        ("top-neg", [*p, "--top", "-1"]), ("model-bogus", ["predict", "--model", "no/such", "--chip", "h100-sxm"]),
        ("chip-bogus", ["predict", "--model", LLAMA8, "--chip", "h9000"]),
        ("dsv3-ep7", ["predict", "--model", DSV3, "--chip", "hgx-h200-8", "--tp", "8", "--ep", "7"]),
        ("serve-requests-0", [*s[:-2], "--requests", "0"]), ("serve-requests-neg", [*s[:-2], "--requests", "-3"]),
        ("serve-rate-0", [*s, "--rate", "0"]), ("serve-rate-nan", [*s, "--rate", "nan"]),
        ("serve-rate-inf", [*s, "--rate", "inf"]), ("serve-concurrency-0", [*s, "--concurrency", "0"]),
        ("serve-no-prompt-fits", ["serve", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--chip", "h100-sxm",
                                  "--tp", "2", "--requests", "5", "--isl", "100000", "--json"]),
        ("serve-isl-gt-ctx", [*s, "--isl", "10000000"]), ("serve-max-seqs-0", [*s, "--max-seqs", "0"]),
        ("serve-prefill-tp-no-disagg", [*s, "--prefill-tp", "2"]), ("serve-ttft-neg", [*s, "--ttft-limit", "-1"]),
        ("serve-ttft-nan", [*s, "--ttft-limit", "nan"]), ("serve-tp-0", [*s, "--tp", "0"]),
        ("serve-spec-bad", [*s, "--spec", "mtp:3:7"]),
        ("op-collective-1e6", ["op", "collective", "--op", "all_reduce", "--bytes", "1e6", "--ranks", "1000000",
                               "--chip", "hgx-h100-8"]),
        ("op-collective-0", ["op", "collective", "--op", "all_reduce", "--bytes", "1e6", "--ranks", "0",
                             "--chip", "hgx-h100-8"]),
        ("op-collective-bytes-nan", ["op", "collective", "--op", "all_reduce", "--bytes", "nan", "--ranks", "8",
                                     "--chip", "hgx-h100-8"]),
        ("op-memory-nan", ["op", "memory", "--chip", "h100-sxm", "--bytes", "nan"]),
        ("op-memory-inf", ["op", "memory", "--chip", "h100-sxm", "--bytes", "inf"]),
        ("op-memory-neg", ["op", "memory", "--chip", "h100-sxm", "--bytes", "-1"]),
        ("op-memory-0", ["op", "memory", "--chip", "h100-sxm", "--bytes", "0"]),
        ("op-memory-bad-op", ["op", "memory", "--chip", "h100-sxm", "--bytes", "1e6", "--op", "teleport"]),
        ("op-gemm-m0", ["op", "gemm", "--chip", "h100-sxm", "--m", "0", "--n", "4096", "--k", "4096"]),
        ("op-gemm-neg", ["op", "gemm", "--chip", "h100-sxm", "--m", "-5", "--n", "4096", "--k", "4096"]),
        ("op-gemm-huge", ["op", "gemm", "--chip", "h100-sxm", "--m", "10000000000000", "--n", "4096",
                          "--k", "4096"]),
        ("op-attention-0", ["op", "attention", "--chip", "h100-sxm", "--batch", "0", "--seqlen-kv", "1024",
                             "--heads-q", "32"]),
        ("op-attention-nan", ["op", "attention", "--chip", "h100-sxm", "--seqlen-kv", "1024", "--heads-q", "32",
                               "--heads-kv", "7"]),
        ("op-gg-0", ["op", "grouped-gemm", "--chip", "h100-sxm", "--k", "4096", "--n", "4096", "--groups", "0",
                      "--tokens", "100"]),
        ("op-gg-list", ["op", "grouped-gemm", "--chip", "h100-sxm", "--k", "4096", "--n", "4096",
                         "--tokens-per-group", "1,-2,nan"]),
        ("validate-kind-bogus", ["validate", str(ROOT / "data/validation/memory.jsonl"), "--kind", "bogus"]),
        ("validate-folds-0", ["validate", str(ROOT / "data/validation/memory.jsonl"), "--cv", "k", "--folds", "0"]),
        ("validate-cv-bogus", ["validate", str(ROOT / "data/validation/memory.jsonl"), "--cv", "bogus"]),
        ("pareto-tp-0", ["pareto", "--model", LLAMA8, "--chip", "h100-sxm", "--devices", "0"]),
        ("search-devices-0", ["search", "--model", LLAMA8, "--chip", "h100-sxm", "--devices", "0"]),
        ("search-ttft-nan", ["search", "--model", LLAMA8, "--chip", "h100-sxm", "--ttft-limit", "nan"]),
        ("search-modes-bogus", ["search", "--model", LLAMA8, "--chip", "h100-sxm", "--modes", "bogus"]),
        ("search-top-0", ["search", "--model", LLAMA8, "--chip", "h100-sxm", "--top", "0"]),
        ("chip-show-bogus", ["chip", "show", "h9000"]), ("model-show-bogus", ["model", "show", "../../etc/passwd"]),
        ("calibrate-out-devnull", ["calibrate", "fit", "--out", "/dev/null"]),
    ]
    q = ["search", "--model", LLAMA8, "--chip", "h100-sxm", "--devices", "8"]
    ex = str(ROOT / "examples")
    pair = [f"{ex}/llama70b-h100-bf16.yaml", f"{ex}/llama70b-b200-fp8.yaml"]
    cases += [
        ("search-target-rate-nan", [*q, "--target-rate", "nan"]), ("search-workers-0", [*q, "--workers", "0"]),
        ("search-ttft-limit-0", [*q, "--ttft-limit", "0"]), ("search-ttft-limit-neg", [*q, "--ttft-limit", "-1"]),
        ("serve-tpot-limit-0", [*s, "--tpot-limit", "0"]), ("serve-osl-1", [*s, "--osl", "1"]),
        ("decompose-sweep-0", ["decompose", *pair, "--sweep", "0"]),
        ("decompose-sweep-nan", ["decompose", *pair, "--sweep", "nan"]),
        ("decompose-metric-bogus", ["decompose", *pair, "--metric", "bogus"]),
        ("what-if-layers-1e9", [*p, "--what-if", "model.num_layers=1000000000"]),
        ("spec-k-100", [*p, "--spec", "mtp:100:0.5"]), ("spec-k-0", [*p, "--spec", "mtp:0:0.5"]),
        ("serve-afd-0", [*s, "--afd", "0:0"]), ("serve-disagg-0-8", [*s, "--disagg", "0:8"]),
        ("serve-disagg-prefill-tp-3", [*s, "--disagg", "8:8", "--prefill-tp", "3"]),
        ("nodes-gt-devices", [*p, "--nodes", "1000"]),
        ("model-show-dir", ["model", "show", "/"]),
        ("op-collective-intra-16", ["op", "collective", "--chip", "hgx-h100-8", "--ranks", "16", "--scope",
                                    "intra_node"]),
        ("op-attention-heads-kv-7", ["op", "attention", "--chip", "h100-sxm", "--seqlen-kv", "1024", "--heads-q",
                                     "32", "--heads-kv", "7"]),
    ]
    out = [Case(f"flag:{cid}", "CLI flags", args) for cid, args in cases]
    # a closed loop over P/D pools: refused before the t12pools/t13steady merge, a supported combination since
    out.append(Case("flag:disagg-with-concurrency", "CLI flags",
                    [*p, "--disagg", "8:8", "--concurrency", "4", "--json"], refuse=False))
    out.append(Case("flag:fa4-h100", "CLI flags", [*p, "--attention-kernel", "fa4"], fallback="fa4"))
    out.append(Case("flag:fa4-h100-json", "CLI flags", [*p, "--attention-kernel", "fa4", "--json"], fallback="fa4"))
    out.append(Case("flag:serve-ok", "CLI flags", [*s, "--json"], refuse=False))
    out.append(Case("flag:op-gemm-fp4-h100", "CLI flags", ["op", "gemm", "--chip", "h100-sxm", "--m", "16", "--n",
                                                            "16", "--k", "16", "--dtype", "fp4"], refuse=False))
    out.append(Case("flag:predict-ok", "CLI flags", [*p, "--json"], refuse=False))
    return out


def _output_cases() -> list[Case]:
    ex = str(ROOT / "examples")
    a, b = f"{ex}/llama70b-h100-bf16.yaml", f"{ex}/llama70b-b200-fp8.yaml"
    rep = ["report", a, b, "--html"]
    out = [
        Case("out:devnull", "output paths", [*rep, "/dev/null"]),
        Case("out:fifo", "output paths", [*rep, "fifo.html"], setup="fifo"),
        Case("out:symlink", "output paths", [*rep, "link.html"], setup="symlink"),
        Case("out:directory", "output paths", [*rep, "adir"], setup="dir"),
        Case("out:readonly-dir", "output paths", [*rep, "ro/r.html"], setup="readonly",
             refuse=os.geteuid() != 0, outputs=("ro/r.html",) if os.geteuid() == 0 else ()),  # root writes anyway
        Case("out:parent-is-file", "output paths", [*rep, "afile/r.html"], files={"afile": "x"}),
        Case("out:png-dir", "output paths", [*rep, "r.html", "--png", "adir"], setup="dir"),
        Case("out:ok", "output paths", [*rep, "r.html", "--png", "r.png"], refuse=False, outputs=("r.html", "r.png")),
        Case("out:plot-dir", "output paths", ["pareto", "--model", LLAMA8, "--chip", "h100-sxm", "--devices", "1",
                                              "--modes", "agg", "--plot", "adir"], setup="dir"),
        Case("out:search-out-file", "output paths", ["search", "--model", LLAMA8, "--chip", "h100-sxm", "--devices",
                                                     "1", "--modes", "agg", "--out", "afile"], files={"afile": "x"}),
        Case("out:emit-devnull", "output paths", ["search", "--model", LLAMA8, "--chip", "h100-sxm", "--devices", "1",
                                                  "--modes", "agg", "--emit", "vllm", "/dev/null"]),
        Case("out:decompose-html-dir", "output paths", ["decompose", a, b, "--html", "adir"], setup="dir"),
        Case("profiles-huge", "profiles", ["op", "gemm", "--chip", "h100-sxm", "--m", "64", "--n", "64", "--k", "64"],
             setup="huge-home", refuse=False),
    ]
    fitted = json.loads((ROOT / "src/hundredx/kernel/fitted/h100-sxm.json").read_text())
    for name, value in (("nan", float("nan")), ("neg", -1.0), ("zero", 0.0), ("null", None), ("list", [1]),
                        ("str", "x"), ("huge", 1e300)):
        doc = json.loads(json.dumps(fitted))
        doc["values"]["gemm.eff.bf16"] = value
        out.append(Case(f"fitted-{name}", "profiles", ["predict", "--model", LLAMA8, "--chip", "h100-sxm", "--json"],
                        {"home/hx/fitted/h100-sxm.json": json.dumps(doc)}))
    return out


def all_cases() -> list[Case]:
    return _config_cases() + _stack_cases() + _trace_cases() + _case_cases() + _flag_cases() + _output_cases()


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_CAP, MEM_CAP))


def _prepare(case: Case, cwd: Path) -> None:
    for name, data in case.files.items():
        p = cwd / name
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(data, bytes) else p.write_text)(data)
    if case.setup == "fifo":
        os.mkfifo(cwd / "fifo.html")
    elif case.setup == "symlink":
        (cwd / "target.txt").write_text("keep me")
        (cwd / "link.html").symlink_to(cwd / "target.txt")
    elif case.setup == "dir":
        (cwd / "adir").mkdir()
    elif case.setup == "readonly":
        (cwd / "ro").mkdir()
        os.chmod(cwd / "ro", 0o500)
    elif case.setup == "huge-home":
        prof = cwd / "home" / "hx" / "fitted"
        prof.mkdir(parents=True)
        (prof / "h100-sxm.json").write_text('{"a": "' + "x" * 60_000_000 + '"}')


def _snapshot(root: Path) -> dict[str, tuple]:
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            try:
                st = os.lstat(p)
            except OSError:
                continue
            seen[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return seen


METRICS = ("output_tokens_per_s", "ttft_s", "tpot_s", "time_s", "predicted", "ttft_p50_s", "tpot_p50_s")


def _null_metric(out: str) -> bool:
    """A --json output whose headline metric is null (a NaN written as null)."""
    try:
        data = json.loads(out)
    except ValueError:
        return False
    return isinstance(data, dict) and any(k in data and data[k] is None for k in METRICS)


def classify(case: Case, rc: int | None, out: str, err: str, new_files: list[str]) -> str:
    """The outcome class of one run (module docstring)."""
    if rc is None or rc not in (0, 2) or "Traceback (most recent call last)" in err + out:
        return "traceback"
    stray = [f for f in new_files if f not in case.outputs and not f.startswith(("mpl", "home/hx/"))
             and f not in case.files]
    if stray:
        return "outside"
    if rc == 0:
        if case.fallback and "fallback" in out and case.fallback in out:
            return "nan" if NAN.search(out) else "ok"
        if case.refuse:
            return "silent"
        return "nan" if NAN.search(out) or _null_metric(out) else "ok"
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    if len(lines) == 1 and ONE_LINE.match(lines[0]) and len(lines[0]) <= 800:
        return "clear"
    return "unclear"


def run_case(case: Case) -> dict:
    work = Path(tempfile.mkdtemp(prefix="hx-hostile-"))
    cwd = work / "cwd"
    cwd.mkdir()
    _prepare(case, cwd)
    before = _snapshot(cwd)
    env = {**os.environ, "HOME": str(cwd / "home"), "HUNDREDX_HOME": str(cwd / "home" / "hx"),
           "MPLCONFIGDIR": str(work / "mpl"), "PYTHONPATH": str(SRC), "COLUMNS": "100",
           "PYTHONHASHSEED": "0", **case.env}
    (cwd / "home").mkdir(exist_ok=True)
    before = _snapshot(cwd)
    try:
        proc = subprocess.run([sys.executable, "-m", "hundredx.cli", *case.args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limit,
                              stdin=subprocess.DEVNULL)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = None, str(exc.stdout or ""), f"timeout after {TIMEOUT_S}s"
    after = _snapshot(cwd)
    new = sorted(f for f, v in after.items() if f not in before or (before[f] != v and stat.S_ISREG(v[0])))
    new = [f for f in new if not stat.S_ISDIR(after[f][0])]
    if case.setup == "symlink" and (cwd / "target.txt").read_text() != "keep me":
        new.append("target.txt (through the symlink)")
    outcome = classify(case, rc, out, err, new)
    try:
        os.chmod(cwd / "ro", 0o700)
    except OSError:
        pass
    shutil.rmtree(work, ignore_errors=True)
    last = (err.strip().splitlines() or [""])[-1]
    return {"id": case.id, "group": case.group, "outcome": outcome, "rc": rc, "stderr": last[:200],
            "stderr_lines": len(err.strip().splitlines()), "new_files": new}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="run the cases whose id contains this")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="print every case, not only the bad ones")
    ap.add_argument("--json", help="write the per-case results and the counts here")
    args = ap.parse_args(argv)
    cases = [c for c in all_cases() if not args.only or args.only in c.id]
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_case, cases))
    counts: dict[str, int] = {}
    groups: dict[str, dict[str, int]] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
        g = groups.setdefault(r["group"], {})
        g[r["outcome"]] = g.get(r["outcome"], 0) + 1
        if args.verbose or r["outcome"] not in ("clear", "ok"):
            print(f"{r['outcome']:9s} rc={r['rc']} {r['id']:38s} {r['stderr'][:150]}"
                  + (f" new={r['new_files']}" if r["new_files"] else ""))
    kinds = ["clear", "ok", "traceback", "silent", "nan", "unclear", "outside"]
    print(f"\n{'group':14s}" + "".join(f"{k:>10s}" for k in kinds))
    for g, c in groups.items():
        print(f"{g:14s}" + "".join(f"{c.get(k, 0):10d}" for k in kinds))
    print(f"{'total':14s}" + "".join(f"{counts.get(k, 0):10d}" for k in kinds) + f"   ({len(results)} cases)")
    refused = [r for r in results if r["outcome"] not in ("ok", "nan") and r["rc"] != 0 or r["outcome"] == "silent"]
    clear = counts.get("clear", 0) + counts.get("ok", 0)
    print(f"clear-or-ok: {clear}/{len(results)} = {100 * clear / max(len(results), 1):.1f}%")
    if args.json:
        Path(args.json).write_text(json.dumps({"counts": counts, "groups": groups, "cases": results}, indent=1))
    del refused
    return 0 if clear == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
