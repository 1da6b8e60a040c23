"""Print per-kind median/p90 APE and the worst cases of the kernel models on validation case files.

Usage: python scripts/kernel_accuracy.py [DIR] [--worst N]   (DIR defaults to the public set)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hundredx.validate.kernels as vk

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_kernels import chip  # noqa: E402  (catalog loader with a YAML fallback)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    worst = int(sys.argv[sys.argv.index("--worst") + 1]) if "--worst" in sys.argv else 5
    default = Path(__file__).resolve().parents[1] / "data" / "validation"
    data = Path(args[0] if args and not args[0].isdigit() else default)
    cases = [json.loads(x) for k in vk.KINDS if (data / f"{k}.jsonl").exists()
             for x in (data / f"{k}.jsonl").read_text().splitlines() if x.strip()]
    vk._chip = chip  # same chips as the fit, also before hundredx.chip.load_chip exists
    for kind, e in vk.error_summary(cases, worst).items():
        print(f"{kind:13s} n={e['n']:4d} unpredicted={len(e['unpredicted'])} median APE={e['median_ape']:.3f} "
              f"p90 APE={e['p90_ape']:.3f}")
        for r in e["worst"]:
            print(f"    {r['id'][:60]:60s} pred {r['predicted']:.4g} meas {r['measured']:.4g} err {r['error']:+.2f}")
        for u in e["unpredicted"]:
            print(f"    UNPREDICTED {u['id']}: {u['reason']}")


if __name__ == "__main__":
    main()
