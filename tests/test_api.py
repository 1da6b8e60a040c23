"""The documented top-level Python API imports and works (README: `from hundredx import ...`)."""

from __future__ import annotations

import subprocess
import sys


def test_top_level_api_in_a_fresh_interpreter():
    code = ("from hundredx import load_model, load_system, Stack, Workload, predict, predict_many\n"
            "import hundredx.predict.engine\n"
            "s = Stack(load_model('meta-llama/Llama-3.1-8B-Instruct'), load_system('h100-sxm'))\n"
            "p = predict(s, Workload(isl=256, osl=16, batch=2))\n"
            "df = predict_many({'model': ['meta-llama/Llama-3.1-8B-Instruct'], 'chip': ['h100-sxm']})\n"
            "assert callable(predict) and p.tpot_s > 0 and len(df) == 1\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
