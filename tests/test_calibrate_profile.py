"""calibrate/profile.py: validation naming the field, atomic writes, round trip; device-name mapping."""

from __future__ import annotations

import json
import os

import pytest

from hundredx.calibrate import profile as prof
from hundredx.calibrate.devices import chip_from_device_name, resolve_chip
from hundredx.errors import InputError
from hundredx.kernel.measured import PROFILE_FORMAT


def _profile(**over) -> dict:
    data = {"format": "hundredx-profile/1",
            "provenance": {"device_name": "NVIDIA H100 80GB HBM3", "chip": "h100-sxm",
                           "date": "2026-01-02T03:04:05+00:00",
                           "host": "node1", "command": "hundredx calibrate run"},
            "cases": [{"id": "a", "kind": "gemm", "hardware": "h100-sxm", "config": {"m": 8, "n": 8, "k": 8},
                       "metric": "tflops", "value": 1.5, "source": "hundredx calibrate run, test, 2026-01-02"}]}
    data.update(over)
    return data


def test_format_constants_agree():
    assert prof.FORMAT == PROFILE_FORMAT


def test_round_trip(tmp_path):
    path = prof.write_profile(_profile(), tmp_path / "sub" / "p.json")
    back = prof.read_profile(path)
    assert back["cases"][0]["value"] == 1.5 and back["provenance"]["chip"] == "h100-sxm"
    assert back["skipped"] == []


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["cases"][0].__setitem__("value", -1.0), "profile.cases[0].value"),
    (lambda d: d["cases"][0].__setitem__("kind", "serving"), "profile.cases[0].kind"),
    (lambda d: d["provenance"].pop("device_name"), "profile.provenance.device_name"),
    (lambda d: d.__setitem__("format", "hundredx-profile/9"), "profile.format"),
    (lambda d: d["cases"][0].__setitem__("hardware", "b200"), "hardware='b200' differs from provenance.chip"),
    (lambda d: d.__setitem__("cases", d["cases"] * 2), "case ids repeat"),
])
def test_validation_names_the_field(mutate, field):
    data = _profile()
    mutate(data)
    with pytest.raises(InputError) as err:
        prof.validate_profile(data)
    assert field in str(err.value)


def test_read_rejects_missing_and_non_json(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        prof.read_profile(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        prof.read_profile(bad)


def test_crash_mid_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(fd):
        raise OSError("disk vanished")

    monkeypatch.setattr(os, "fsync", boom)
    target = tmp_path / "p.json"
    with pytest.raises(InputError, match="disk vanished"):  # a write failure is one clear line
        prof.write_profile(_profile(), target)
    assert list(tmp_path.iterdir()) == []  # neither the profile nor the temporary file


def test_crash_keeps_the_previous_profile(tmp_path, monkeypatch):
    target = tmp_path / "p.json"
    prof.write_profile(_profile(), target)
    before = target.read_text()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    changed = _profile()
    changed["cases"][0]["value"] = 9.0
    with pytest.raises(KeyboardInterrupt):
        prof.write_profile(changed, target)
    assert target.read_text() == before and json.loads(before)["cases"][0]["value"] == 1.5
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_invalid_profile_is_never_written(tmp_path):
    with pytest.raises(InputError):
        prof.write_profile(_profile(format="nope"), tmp_path / "p.json")
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("name, chip", [
    ("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA H100 PCIe", "h100-pcie"), ("NVIDIA H200", "h200-sxm"),
    ("NVIDIA B200", "b200"), ("NVIDIA GB200", "gb200"), ("NVIDIA H20", "h20"), ("NVIDIA H800", "h800-sxm"),
    ("NVIDIA A100-SXM4-80GB", "a100-sxm-80gb"), ("AMD Instinct MI300X", "mi300x"),
    ("NVIDIA H100 NVL", None), ("NVIDIA GeForce RTX 4090", None),
])
def test_device_names_map_to_catalog_ids(name, chip):
    assert chip_from_device_name(name) == chip


def test_mapped_ids_exist_in_catalog():
    from hundredx.calibrate.devices import DEVICE_RULES
    from hundredx.chip.catalog import list_chips

    assert {c for _, c in DEVICE_RULES if c} <= set(list_chips())


def test_resolve_chip():
    assert resolve_chip("cpu", "AMD EPYC", None) == "cpu"
    assert resolve_chip("cuda", "NVIDIA H200", None) == "h200-sxm"
    assert resolve_chip("cuda", "weird gpu", "h100-sxm") == "h100-sxm"
    with pytest.raises(InputError, match="pass --chip"):
        resolve_chip("cuda", "NVIDIA GeForce RTX 4090", None)
    with pytest.raises(InputError, match="chip='H100 SXM'"):
        resolve_chip("cuda", "x", "H100 SXM")
    assert resolve_chip("cpu", "AMD EPYC", "cpu") == "cpu"
    with pytest.raises(InputError, match="chip='h100-sxm'"):
        resolve_chip("cpu", "AMD EPYC", "h100-sxm")
