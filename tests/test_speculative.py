"""Speculative decoding: the draft pass costs one layer plus the LM head; acceptance follows the depth."""

from __future__ import annotations

import pytest

from hundredx.errors import InputError
from hundredx.kernel.runtime import SpeculativeSpec, acceptance_from_length
from hundredx.model import load_model
from hundredx.predict import predict
from hundredx.predict.single import phase_steps
from hundredx.predict.speculative import draft_pass_s
from hundredx.scenario import Workload, build


def test_acceptance_model_follows_draft_depth():
    a = 0.8
    tokens = [SpeculativeSpec("mtp", k, a).expected_tokens_per_step for k in (1, 2, 3, 6)]
    assert tokens == pytest.approx([1 + a, 1 + a + a * a, 1 + a + a ** 2 + a ** 3, (1 - a ** 7) / (1 - a)])
    assert all(x < y for x, y in zip(tokens, tokens[1:]))  # deeper drafts yield more, with diminishing returns
    assert (tokens[3] - tokens[2]) / 3 < tokens[1] - tokens[0]  # per extra draft
    assert SpeculativeSpec("mtp", 3, a).position_acceptance == pytest.approx((a, a * a, a ** 3))


def test_acceptance_length_inverts_the_model():
    spec = SpeculativeSpec("mtp", 3, acceptance_length=2.5)
    assert spec.expected_tokens_per_step == pytest.approx(2.5, rel=1e-9)
    assert acceptance_from_length(1.0 + 0.7, 1) == pytest.approx(0.7, abs=1e-9)
    with pytest.raises(InputError, match="acceptance_length"):
        SpeculativeSpec("mtp", 1, acceptance_length=2.5)


def test_mtp_draft_pass_prices_its_layer_and_lm_head():
    model = load_model("deepseek-ai/DeepSeek-V3")
    stack = build(model, "h200-sxm", tp=8, speculative=SpeculativeSpec("mtp", 1, 0.8)).stack
    plain = build(model, "h200-sxm", tp=8).stack
    _, _, dec, _ = phase_steps(plain, 1, 1024, 1500)
    draft = float(draft_pass_s(stack, dec))
    head = sum(float(t) for op, t in zip(dec.ops, dec.op_time_s) if op.name == "lm_head")
    assert head > 0
    assert draft > head  # the LM head is part of every draft pass
    assert draft < float(dec.time_s) / 10  # one layer of 61, not the whole step
    # an MTP pass costs more than a layer's share of the step: the LM head is not shared out over layers
    assert draft > float(dec.time_s) / model.num_layers


def test_deeper_drafts_trade_draft_cost_for_accepted_tokens():
    model = load_model("meta-llama/Llama-3.1-8B-Instruct")
    w = Workload(batch=1, isl=512, osl=256)
    tpot = {k: predict(build(model, "h100-sxm", speculative=SpeculativeSpec("eagle", k, 0.6)).stack, w).tpot_s
            for k in (1, 3, 10)}
    assert tpot[3] < tpot[1]
    assert tpot[10] > tpot[3]  # at a = 0.6 ten drafts cost more than they are accepted for
