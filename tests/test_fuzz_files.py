"""Fuzz: config.json, stack YAML, request traces and case files through the CLI (tests/fuzzgen.py's rule:
exit 2 with one clear line, or exit 0 with finite numbers)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from fuzzgen import LLAMA8, case_texts, check_outcome, config_texts, invoke, stack_texts, trace_texts

FAST = settings(max_examples=35, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _write(name: str, text: str) -> tuple[tempfile.TemporaryDirectory, str]:
    tmp = tempfile.TemporaryDirectory(prefix="hundredx-fuzz-")
    path = Path(tmp.name) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return tmp, str(path)


@FAST
@given(config_texts())
def test_fuzz_config_json(text):
    tmp, path = _write("m/config.json", text)
    with tmp:
        check_outcome(invoke(["model", "show", path, "--json"]), text[:300])
        check_outcome(invoke(["predict", "--model", path, "--chip", "h100-sxm", "--isl", "256", "--osl", "16",
                              "--json"]), text[:300])


@FAST
@given(stack_texts())
def test_fuzz_stack_yaml(text):
    tmp, path = _write("s.yaml", text)
    with tmp:
        check_outcome(invoke(["stack", "check", path]), text)
        check_outcome(invoke(["stack", "show", path]), text)


@settings(FAST, max_examples=25)
@given(trace_texts())
def test_fuzz_traces(text):
    tmp, path = _write("t.csv", text)
    with tmp:
        check_outcome(invoke(["serve", "--model", LLAMA8, "--chip", "h100-sxm", "--trace", path, "--json"]), text)


@FAST
@given(case_texts())
def test_fuzz_case_files(text):
    tmp, path = _write("c.jsonl", text)
    with tmp:
        check_outcome(invoke(["validate", path, "--json"]), text[-300:])
