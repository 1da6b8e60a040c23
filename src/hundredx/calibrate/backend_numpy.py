"""numpy microbenchmark backend: the torch backend's interface on the CPU without torch.

Used by `hundredx calibrate run --device cpu` when torch is not importable (CI), so the
whole pipeline — sweep, timing, cases, profile file, lookup — runs everywhere. FP32 only
(numpy has no bf16); GEMM via `numpy.matmul` (BLAS), attention as separate matmul +
softmax + matmul (`eager_unfused`), grouped GEMM as one matmul per expert
(`numpy_mm_loop`). Timing: `time.perf_counter_ns` per call, no cache flush.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from hundredx.calibrate.backend import Skip, _summary, rep_counts
from hundredx.calibrate.devices import cpu_name


class NumpyBackend:
    """numpy on the host CPU; float32."""

    def __init__(self, target_s: float = 0.1, min_reps: int = 5, max_reps: int = 200):
        self.target_s, self.min_reps, self.max_reps = target_s, min_reps, max_reps
        self.is_cuda = False
        self.dtype = "fp32"
        self.library = "numpy"
        self.copy_dtype = "fp32"
        self.grouped_libraries = ("numpy_mm_loop",)
        self._rng = np.random.default_rng(0)

    def info(self) -> dict:
        return {"backend": "numpy", "device_type": "cpu", "device_name": cpu_name(),
                "cuda": None, "blas": _blas_name(),
                "timing": f"time.perf_counter_ns per call, median of reps (~{self.target_s}s), no cache flush"}

    def time_fn(self, fn: Callable[[], object]) -> dict:
        fn()
        estimate = min(self._one(fn) for _ in range(3))
        warm, reps = rep_counts(estimate, self.target_s, self.min_reps, self.max_reps)
        for _ in range(warm):
            fn()
        return _summary([self._one(fn) for _ in range(reps)])

    @staticmethod
    def _one(fn: Callable[[], object]) -> float:
        t0 = time.perf_counter_ns()
        fn()
        return (time.perf_counter_ns() - t0) * 1e-9

    def randn(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        if dtype != "fp32":
            raise Skip(f"dtype {dtype} not supported by the numpy backend (fp32 only)")
        return self._rng.standard_normal(shape, dtype=np.float32)

    def gemm(self, m: int, n: int, k: int, dtype: str) -> Callable[[], object]:
        a, b = self.randn((m, k), dtype), self.randn((k, n), dtype)
        out = np.empty((m, n), dtype=np.float32)
        return lambda: np.matmul(a, b, out=out)

    def fp8_gemm(self, m: int, n: int, k: int) -> Callable[[], object]:
        raise Skip("numpy has no FP8 GEMM")

    def attention(self, c: dict) -> tuple[Callable[[], object], str]:
        b, hq, hkv, sq, skv, d = c["batch"], c["heads_q"], c["heads_kv"], c["seqlen_q"], c["seqlen_kv"], c["head_dim"]
        if hq % hkv:
            raise Skip(f"heads_q={hq} is not a multiple of heads_kv={hkv}")
        q = self.randn((b, hkv, hq // hkv, sq, d), c["dtype"])
        k, v = self.randn((b, hkv, 1, skv, d), c["dtype"]), self.randn((b, hkv, 1, skv, d), c["dtype"])
        scale = np.float32(1.0 / np.sqrt(d))
        # bottom-right aligned causal mask: query i sees keys j <= i + skv - sq
        mask = np.triu(np.ones((sq, skv), dtype=bool), k=skv - sq + 1) if c["causal"] else None

        def fn():
            s = np.matmul(q, np.swapaxes(k, -1, -2)) * scale
            if mask is not None:
                s[..., mask] = -np.inf
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            return np.matmul(s, v)

        return fn, "eager_unfused"

    def grouped_gemm(self, tokens: list[int], n: int, k: int, dtype: str, library: str) -> Callable[[], object]:
        if library != "numpy_mm_loop":
            raise Skip(f"library {library} needs torch")
        a, w = self.randn((sum(tokens), k), dtype), self.randn((len(tokens), k, n), dtype)
        out = np.empty((sum(tokens), n), dtype=np.float32)
        ends = np.cumsum(tokens).tolist()
        bounds = list(zip([0, *ends[:-1]], ends))

        def loop():
            for g, (s, e) in enumerate(bounds):
                np.matmul(a[s:e], w[g], out=out[s:e])
            return out

        return loop

    def copy(self, nbytes: int) -> Callable[[], object]:
        src = self.randn((nbytes // 4,), "fp32")
        dst = np.empty_like(src)
        return lambda: np.copyto(dst, src)

    def rmsnorm(self, rows: int, hidden: int, dtype: str) -> tuple[Callable[[], object], str]:
        x, w = self.randn((rows, hidden), dtype), self.randn((hidden,), dtype)
        out = np.empty_like(x)

        def fn():
            inv = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(1e-6))
            return np.multiply(x * inv, w, out=out)

        return fn, "numpy_eager"


def _blas_name() -> str | None:
    try:
        cfg = np.show_config(mode="dicts")
        return str(cfg.get("Build Dependencies", {}).get("blas", {}).get("name"))
    except (TypeError, AttributeError):
        return None
