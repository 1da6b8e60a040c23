"""Developer script: fit the kernel-efficiency parameters on the public validation cases and write the
SHIPPED fitted files.

Usage: python scripts/fit_kernels.py [--data DIR] (--out DIR | --dry-run)
       e.g. python scripts/fit_kernels.py --out src/hundredx/kernel/fitted
Fits every architecture family and every chip with data (calibrate/pooling.py: a family value,
each chip pooled toward the family fitted without it). Prints per chip the fitted keys with their
status (own / pooled / inherited) and the median/p90 APE at the family value and after; with --out
writes one <chip>.json per chip and one family-<family>.json per family, with provenance: the data
files relative to the repository (data/validation/<kind>.jsonl) with their sha256, the sources,
date and device. The output directory is explicit: users fit their own chips with `hundredx
calibrate fit`, which writes $HUNDREDX_HOME.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from hundredx.calibrate.fitter import file_record, fit_all, save_families, save_fitted
from hundredx.chip.spec import ChipSpec
from hundredx.kernel.cases import KINDS

ROOT = Path(__file__).resolve().parents[1]


def chip(chip_id: str) -> ChipSpec:
    try:
        from hundredx.chip import load_chip

        return load_chip(chip_id)
    except ImportError:
        data = yaml.safe_load((ROOT / "src/hundredx/chip/catalog" / f"{chip_id}.yaml").read_text())
        return ChipSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
                           if k in ChipSpec.__slots__})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "data" / "validation"))
    ap.add_argument("--out", help="directory for <chip>.json (the shipped files: src/hundredx/kernel/fitted)")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    if not args.dry_run and not args.out:
        ap.error("name the output directory with --out (or pass --dry-run)")
    files = [Path(args.data) / f"{k}.jsonl" for k in KINDS]
    cases = [json.loads(line) for f in files if f.exists() for line in f.read_text().splitlines() if line.strip()]
    chips = {c["hardware"]: chip(c["hardware"]) for c in cases if c.get("kind") in KINDS}
    result = fit_all(cases, chips)
    fits = result["chips"]
    for chip_id, fit in fits.items():
        r = fit["report"]
        print(f"{chip_id} ({fit['family']}): {r['n_cases']} cases, median APE at the prior {r['median_ape_before']:.3f}"
              f" -> {r['median_ape']:.3f}, p90 {r['p90_ape']:.3f}; skipped {len(fit['skipped'])}; prior {fit['prior']}")
        print("   " + ", ".join(f"{k}={p['value']:.4g} ({p['status']}, w={p['data_weight']:.2f})"
                                for k, p in fit["parameters"].items() if p["status"] in ("own", "pooled")))
    if not args.dry_run:
        sources = sorted({c["source"].split(" | ")[0] for c in cases if c.get("kind") in KINDS})
        prov = {"data": [file_record(f, ROOT) for f in files if f.exists()], "sources": sources,
                "device": "fitted on CPU from measurements on the cases' hardware (see sources)",
                "method": "partial pooling within the architecture family (calibrate/pooling.py): scipy "
                          "least_squares, soft-L1 on log(pred/measured), ridge toward the family fitted without the "
                          "chip (tau 0.10 in log units), weak prior to the analytic defaults"}
        for path in save_fitted(fits, args.out, prov) + save_families(result["families"], args.out, prov):
            print("wrote", path)
    sys.exit(0)


if __name__ == "__main__":
    main()
