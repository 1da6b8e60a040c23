"""Fuzz: CLI flags of predict, serve and op (tests/fuzzgen.py's rule: exit 2 with one clear line, or exit 0
with finite numbers)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from fuzzgen import check_outcome, invoke, op_args, predict_args, serve_args

FAST = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(predict_args())
def test_fuzz_predict_flags(args):
    check_outcome(invoke(args), args)


@settings(FAST, max_examples=20)
@given(serve_args())
def test_fuzz_serve_flags(args):
    check_outcome(invoke(args), args)


@FAST
@given(op_args())
def test_fuzz_op_flags(args):
    check_outcome(invoke(args), args)
