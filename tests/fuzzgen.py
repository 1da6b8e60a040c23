"""Shared generators and the one outcome rule of the fuzz suite (tests/test_fuzz_*.py; docs/robustness.md).

Every input the generators make must end one of two ways when the CLI reads it:
- exit 2 and exactly one line on stderr, `error: FIELD=VALUE: why`, at most 800 characters; or
- exit 0 and finite numbers: no `nan`/`inf` printed, and no headline metric written as null
  (print_json writes NaN as null).
Anything else — a traceback (an exception escaping the command), another exit code, a second
error line — fails the test with the input attached. The runs are in-process (typer's CliRunner)
for speed; hypothesis runs derandomized (tests/conftest.py), so CI sees the same examples.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from hypothesis import strategies as st
from typer.testing import CliRunner

from hundredx.cli import app

ZOO = Path(__file__).resolve().parents[1] / "src" / "hundredx" / "zoo"
LLAMA8 = "meta-llama/Llama-3.1-8B-Instruct"
ONE_LINE = re.compile(r"^error: [^=\n]{1,100}=.*: .+$")
NAN = re.compile(r"(?<![A-Za-z_])(nan|NaN|-?inf|Infinity)(?![A-Za-z_])")
METRICS = {"output_tokens_per_s", "ttft_s", "tpot_s", "time_s", "predicted", "ttft_p50_s", "tpot_p50_s", "sol_s"}
RUNNER = CliRunner()

# numbers a user (or an attacker) might type, as Python values and as text
HOSTILE_NUMBERS = [0, -1, 1, 2, 7, 3.5, 1e-9, 1e9, 2 ** 31, 2 ** 63, 10 ** 30, 1e300, -1e300,
                   float("nan"), float("inf"), float("-inf")]
HOSTILE_VALUES = HOSTILE_NUMBERS + [None, True, False, "", "32", "abc", "x" * 5000, [], [1, 2], {}, {"a": 1}]
HOSTILE_TEXT = ["0", "-1", "1", "8", "3", "7", "1e400", "nan", "inf", "-inf", ".inf", ".nan", "5e-2", "1e9", "abc",
                "", "2147483648", "99999999999999999999", "1.5", "0x10", "yes", "~", "[1, 2]", "{a: 1}"]


def llama_config() -> dict:
    return json.loads((ZOO / LLAMA8 / "config.json").read_text())


def invoke(args: list[str]):
    return RUNNER.invoke(app, args, catch_exceptions=True)


def _null_metric(data: object) -> str | None:
    if isinstance(data, dict):
        if data.get("unpredicted_reason"):  # validate: a case it cannot predict, listed with the reason
            return None
        for key, value in data.items():
            if key in METRICS and value is None:
                return key
            found = _null_metric(value) if isinstance(value, (dict, list)) else None
            if found:
                return found
    elif isinstance(data, list):
        for value in data[:50]:
            found = _null_metric(value)
            if found:
                return found
    return None


def check_outcome(result, label: object = "") -> str:
    """Assert the module's outcome rule; returns "refused" or "ok"."""
    where = f"input {str(label)[:300]!r}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{where}: {type(result.exception).__name__}: {result.exception}") from result.exception
    assert result.exit_code in (0, 2), f"{where}: exit {result.exit_code}: {result.output[-500:]}"
    if result.exit_code == 2:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, f"{where}: {len(lines)} error lines: {result.stderr[:500]}"
        assert ONE_LINE.match(lines[0]) and len(lines[0]) <= 800, f"{where}: unclear error {lines[0][:300]!r}"
        return "refused"
    out = result.stdout
    assert not NAN.search(out), f"{where}: non-finite number printed: {NAN.search(out).group(0)!r}"
    try:
        data = json.loads(out)
    except ValueError:
        return "ok"
    key = _null_metric(data)
    assert key is None, f"{where}: metric {key} is null (NaN)"
    return "ok"


def finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# ---- config.json ------------------------------------------------------------------------------
CONFIG_KEYS = ["num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads",
               "vocab_size", "max_position_embeddings", "head_dim", "rope_theta", "num_local_experts",
               "num_experts_per_tok", "torch_dtype", "quantization_config", "tie_word_embeddings", "sliding_window"]


@st.composite
def config_texts(draw) -> str:
    """config.json text: the Llama-3.1-8B config with one to three keys set to hostile values, or raw junk."""
    kind = draw(st.sampled_from(["mutate", "mutate", "mutate", "raw"]))
    if kind == "raw":
        return draw(st.sampled_from(["", "[]", "null", "1", '"x"', "{", "{}", "[" * 5000 + "]" * 5000,
                                     '{"num_hidden_layers": NaN}', '{"hidden_size": Infinity}',
                                     '{"hidden_size": 1e400}', "\x00\xff"]))
    cfg = llama_config()
    for key in draw(st.lists(st.sampled_from(CONFIG_KEYS), min_size=1, max_size=3, unique=True)):
        cfg[key] = draw(st.sampled_from(HOSTILE_VALUES + [{"quant_method": "frobnicate"}, {"quant_method": "fp8"}]))
    return json.dumps(cfg)  # NaN / Infinity written the way Python's json does


# ---- stack YAML -------------------------------------------------------------------------------
STACK = """name: fuzz
model:
  id: meta-llama/Llama-3.1-8B-Instruct
  weights: {weights}
kernel:
  attention: {attention}
  tp: {tp}
chip:
  system: {system}
  devices: {devices}
  price_per_hour: {price}
workload:
  isl: {isl}
  osl: {osl}
  batch: {batch}
  tpot_limit_s: {tpot}
{extra}"""
BOMB = "x0: &a [q, q, q, q, q, q, q, q, q, q]\n" + "".join(
    f"x{i + 1}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))


@st.composite
def stack_texts(draw) -> str:
    """A stack file with hostile scalars in its fields, unknown keys, alias bombs or deep nesting."""
    pick = lambda xs: draw(st.sampled_from(xs))  # noqa: E731
    text = STACK.format(weights=pick(["bf16", "fp8", "fp3", "nvfp4", "1", "~"]),
                        attention=pick(["fa2", "fa3", "fa4", "auto", "bogus"]),
                        tp=pick(["1", "2"] + HOSTILE_TEXT), system=pick(["h100-sxm", "hgx-h100-8", "b200", "h9000"]),
                        devices=pick(["1", "8"] + HOSTILE_TEXT),
                        price=pick(["2.5", ".inf", ".nan", "-3", "0", "1e400"]),
                        isl=pick(["1024", "128"] + HOSTILE_TEXT), osl=pick(["128", "16"] + HOSTILE_TEXT),
                        batch=pick(["1", "auto", "8"] + HOSTILE_TEXT), tpot=pick(["5e-2", "0.05", ".inf", "-1", "0"]),
                        extra=pick(["", "bogus_key: 1\n", BOMB, "deep: " + "[" * 200 + "]" * 200 + "\n",
                                    "x: !!python/object/apply:os.system ['true']\n", "model: {id: *undefined}\n"]))
    return text


# ---- traces -----------------------------------------------------------------------------------
TRACE_CELLS = ["0", "1", "0.5", "100", "-1", "nan", "inf", "", "abc", "1e12", "200000", "3.5", "1e400"]


@st.composite
def trace_texts(draw) -> str:
    """A request trace CSV: header variants and rows of hostile cells."""
    header = draw(st.sampled_from(["timestamp,input_length,output_length", "timestamp,input_length",
                                   "timestamp,input_length,output_length,prefix_id", ""]))
    ncols = len(header.split(",")) if header else 3
    rows = draw(st.lists(st.lists(st.sampled_from(TRACE_CELLS), min_size=ncols, max_size=ncols), max_size=4))
    good = draw(st.booleans())
    lines = [header] + (["0,128,16" + (",1" if ncols == 4 else "")] if good and ncols >= 3 else [])
    return "\n".join(lines + [",".join(r) for r in rows]) + "\n"


# ---- case files -------------------------------------------------------------------------------
def good_case(i: int = 0) -> dict:
    return {"id": f"g{i}", "kind": "gemm", "hardware": "h100-sxm", "n_devices": 1,
            "config": {"m": 256 * (i + 1), "n": 4096, "k": 4096, "dtype": "bf16"}, "metric": "tflops",
            "value": 500.0, "source": "fuzz"}


@st.composite
def case_texts(draw) -> str:
    """A JSON Lines case file: good gemm cases plus one line with a hostile field."""
    bad = good_case(99)
    field = draw(st.sampled_from(["value", "value", "kind", "metric", "hardware", "n_devices", "id", "config",
                                  "config.m", "config.k", "raw"]))
    value = draw(st.sampled_from(HOSTILE_VALUES + ["bogus"]))
    if field == "raw":
        line = draw(st.sampled_from(["{not json", "[1, 2]", "null", '{"value": NaN}', "[" * 3000 + "]" * 3000]))
    else:
        if field.startswith("config."):
            bad["config"][field.split(".")[1]] = value
        else:
            bad[field] = value
        line = json.dumps(bad)
    lines = [json.dumps(good_case(i)) for i in range(draw(st.integers(0, 3)))] + [line]
    return "\n".join(lines) + "\n"


# ---- CLI flags --------------------------------------------------------------------------------
PREDICT_FLAGS = ["--tp", "--pp", "--dp", "--cp", "--ep", "--devices", "--isl", "--osl", "--batch", "--concurrency",
                 "--prefill-tp", "--top", "--nodes"]
SERVE_FLAGS = ["--tp", "--requests", "--isl", "--osl", "--concurrency", "--rate", "--max-seqs",
               "--max-batched-tokens", "--ttft-limit", "--prefill-tp"]
OP_CASES = [("gemm", ["--m", "--n", "--k"]), ("memory", ["--bytes"]), ("collective", ["--ranks", "--bytes"]),
            ("attention", ["--batch", "--seqlen-kv", "--heads-q", "--heads-kv", "--head-dim"])]


@st.composite
def predict_args(draw) -> list[str]:
    args = ["predict", "--model", LLAMA8, "--chip", draw(st.sampled_from(["h100-sxm", "hgx-h100-8", "b200"]))]
    args += ["--json"] if draw(st.booleans()) else []  # the table is checked for nan/inf too
    for flag in draw(st.lists(st.sampled_from(PREDICT_FLAGS), min_size=1, max_size=3, unique=True)):
        args += [flag, draw(st.sampled_from(HOSTILE_TEXT[:16] + ["2", "4", "64"]))]
    if draw(st.booleans()):
        args += ["--attention-kernel", draw(st.sampled_from(["fa4", "fa3", "bogus", "auto"]))]
    return args


@st.composite
def serve_args(draw) -> list[str]:
    args = ["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--requests", "8", "--osl", "8"]
    args += ["--json"] if draw(st.booleans()) else []
    for flag in draw(st.lists(st.sampled_from(SERVE_FLAGS), min_size=1, max_size=2, unique=True)):
        args += [flag, draw(st.sampled_from(HOSTILE_TEXT[:16] + ["2", "16"]))]
    return args


@st.composite
def op_args(draw) -> list[str]:
    op, flags = draw(st.sampled_from(OP_CASES))
    base = {"gemm": ["--m", "64", "--n", "4096", "--k", "4096"], "memory": ["--bytes", "1e6"],
            "collective": ["--ranks", "8", "--bytes", "1M"],
            "attention": ["--seqlen-kv", "1024", "--heads-q", "32"]}[op]
    chip = "hgx-h100-8" if op == "collective" else "h100-sxm"
    args = ["op", op, "--chip", chip, *base, "--json"]
    for flag in draw(st.lists(st.sampled_from(flags), min_size=1, max_size=2, unique=True)):
        args += [flag, draw(st.sampled_from(HOSTILE_TEXT[:16] + ["2", "128"]))]
    return args
