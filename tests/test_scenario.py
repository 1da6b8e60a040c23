"""The scenario builder: the one place stacks are built, validated, adjusted and recombined."""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.errors import InputError
from hundredx.kernel.runtime import Disaggregation, RuntimeSpec, SchedulerSpec
from hundredx.scenario import Stack, Workload, build, compose, with_changes
from hundredx.scenario.rules import violations

L70 = "meta-llama/Llama-3.1-70B-Instruct"
DSV3 = "deepseek-ai/DeepSeek-V3"


def test_device_rule_fills_tp_or_derives_dp():
    assert build(L70, "h100-sxm", devices=8).runtime.tp == 8  # tp fills the devices
    scn = build(L70, "h100-sxm", devices=16, tp=8)
    assert (scn.runtime.tp, scn.runtime.dp, scn.devices, scn.system.devices) == (8, 2, 16, 16)
    assert build(L70, "h100-sxm", tp=4, pp=2, dp=2).devices == 16
    with pytest.raises(InputError) as exc:
        build(L70, "h100-sxm", devices=12, tp=8)
    assert exc.value.field == "devices"
    with pytest.raises(InputError) as exc:
        build(L70, "h100-sxm", devices=16, tp=8, dp=4)
    assert exc.value.field == "dp"
    with pytest.raises(InputError) as exc:
        build(L70, "h100-sxm", devices=16, tp=8, nodes=1)
    assert exc.value.field == "nodes"


def test_disaggregated_pools_set_the_devices():
    scn = build(DSV3, "gb200", tp=8, ep=64, attention_dp=True, disaggregation=Disaggregation(8, 64))
    assert (scn.devices, scn.runtime.dp, scn.system.devices) == (72, 8, 72)
    with pytest.raises(InputError) as exc:
        build(DSV3, "gb200", tp=8, disaggregation=Disaggregation(12, 64))
    assert exc.value.field == "disaggregation.prefill_devices"


def test_rules_are_one_vectorized_function():
    model, system = build(DSV3, "h200-sxm", tp=8).model, build(DSV3, "h200-sxm", tp=8).system
    tp = np.array([8, 8, 8, 3, 8])
    ep = np.array([8, 512, 16, 1, 1])
    reasons = violations(model, system, tp, ep, 1, 1)
    assert reasons[0] == "" and "experts" in reasons[1] and "tp*dp" in reasons[2] and reasons[3].startswith("tp:")
    assert violations(model, system, 8, 8) == ""
    with pytest.raises(InputError) as exc:  # the same rule refuses a Stack
        Stack(model, system, RuntimeSpec(tp=8, ep=16))
    assert exc.value.field == "ep"


def test_concurrency_sets_the_batch_per_replica():
    scn = build(L70, "h100-sxm", devices=16, tp=8, workload=Workload(concurrency=33))
    assert scn.workload.batch == 17


def test_specs_ids_and_overrides():
    from hundredx.chip import load_chip
    from hundredx.model import load_model

    chip = load_chip("h100-sxm")
    scn = build(load_model(L70), chip, tp=8, price_per_hour=9.5)
    assert scn.chip.price_per_hour == 9.5 and any("price_per_hour=9.5" in s for s in scn.chip.sources)
    assert scn.system.id == "hgx-h100-8"
    with pytest.raises(InputError) as exc:
        build(L70, "h100-sxm", tp=8, bogus_knob=1)
    assert exc.value.field == "bogus_knob"


def test_compose_swaps_layers_on_specs_and_adjusts():
    a = build(L70, "h100-sxm", tp=8, name="A")
    b = build(L70, "b200", tp=4, attention_kernel="fa4", weights="fp8", name="B")
    mixed = compose(a, b, a)  # A's model, B's kernel layer, A's chip
    assert mixed.runtime.attention_kernel == "auto" and any("fa4" in n for n in mixed.adjustments)
    assert mixed.chip.id == "h100-sxm" and mixed.runtime.tp == 4 and mixed.runtime.dp == 2
    assert mixed.model.quant.weight.name == "bf16"
    wide = build(L70, "h100-sxm", tp=16, devices=16)
    with pytest.raises(InputError) as exc:  # tp 16 on the chip layer's 8 devices: not as written
        compose(a, wide, a, adjust=False)
    assert exc.value.field == "devices"


def test_with_changes_edits_specs():
    a = build(L70, "h100-sxm", tp=8)
    changed = with_changes(a, {"model.weights": "fp8", "chip": {"system": "hgx-b200-8", "devices": 8},
                               "kernel.scheduler": {"max_seqs": 64}, "workload.isl": 4096})
    assert changed.model.quant.weight.name == "fp8" and changed.chip.id == "b200"
    assert changed.runtime.scheduler == SchedulerSpec(max_seqs=64) and changed.workload.isl == 4096
    assert with_changes(a, {"kernel.tp": 4}).runtime.dp == 2  # dp follows the chip layer's devices
    with pytest.raises(InputError) as exc:
        with_changes(a, {"kernel.tpp": 4})
    assert exc.value.field == "kernel.tpp"


def test_adjust_grows_tp_then_pp_until_one_sequence_fits():
    h100_16 = build(DSV3, "h100-sxm", devices=16, tp=8, ep=8, pp=2)
    small_kernel = build(DSV3, "h200-sxm", tp=2, ep=2, devices=2)
    grown = compose(h100_16, small_kernel, h100_16)  # V3 FP8 (~650 GB) on tp 2 x 80 GB cannot hold one sequence
    assert [n for n in grown.adjustments if "do not fit" in n], grown.adjustments
    assert grown.runtime.tp * grown.runtime.pp >= 8
    from hundredx.scenario.memory import memory_use

    assert bool(memory_use(grown.stack, 1, grown.workload.isl, grown.workload.osl).fits)
