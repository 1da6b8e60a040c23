"""Print the per-case APE of validate.collective on the public collective cases (iteration aid)."""
import json
import sys
from pathlib import Path

import numpy as np

from hundredx.validate.base import Unpredictable
from hundredx.validate.collective import predict_case

PATH = str(Path(__file__).resolve().parents[1] / "data" / "validation" / "collective.jsonl")


def evaluate(path=PATH, verbose=True):
    apes, skipped = [], []
    for line in open(path):
        case = json.loads(line)
        try:
            pred = predict_case(case)
        except Unpredictable as exc:
            skipped.append((case["id"], str(exc)))
            continue
        ape = abs(pred - case["value"]) / abs(case["value"])
        apes.append(ape)
        if verbose:
            print(f"{case['id']:55s} meas {case['value']:10.4g} pred {pred:10.4g} APE {100*ape:6.1f}%")
    apes = np.array(apes)
    return apes, skipped


if __name__ == "__main__":
    apes, skipped = evaluate(sys.argv[1] if len(sys.argv) > 1 else PATH)
    print(f"n={len(apes)} median={100*np.median(apes):.1f}% p90={100*np.percentile(apes, 90):.1f}% "
          f"unpredicted={len(skipped)}")
    for s in skipped:
        print("  unpredicted:", s)
