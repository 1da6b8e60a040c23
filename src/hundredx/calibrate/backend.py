"""Microbenchmark backends: torch (CUDA or CPU) here, numpy in `backend_numpy`; one interface.

A backend builds a zero-argument callable per benchmark with fresh random inputs
(`randn`, never zeros: zero operands draw less power and flatter the clocks) and times it:
`time_fn(fn)` warms up, then returns the median and quartiles of per-call times.
CUDA: `torch.cuda.Event` pairs around each call, with the L2 flushed before every call
by writing a buffer of max(256 MiB, 2 x L2) (as `triton.testing.do_bench`); the flush
also gives the CPU a head start so launch overhead hides behind it. CPU:
`time.perf_counter_ns`. Counts: warm-up ~ `warmup_s` of calls, repeats ~ `target_s`,
clamped to [min_reps, max_reps]. torch is imported inside this module's functions only.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

from hundredx.errors import InputError

MiB = 1 << 20


class Skip(Exception):
    """This benchmark cannot run on this backend; the message is the recorded reason."""


def _summary(times_s: list[float]) -> dict:
    q = statistics.quantiles(times_s, n=4) if len(times_s) >= 2 else [times_s[0]] * 3
    return {"median_s": statistics.median(times_s), "q1_s": q[0], "q3_s": q[2], "reps": len(times_s)}


def rep_counts(estimate_s: float, target_s: float, min_reps: int, max_reps: int) -> tuple[int, int]:
    """(warm-up calls, timed calls) for a call of `estimate_s`: ~target_s/4 of warm-up, ~target_s timed."""
    est = max(estimate_s, 1e-7)
    reps = int(min(max(math.ceil(target_s / est), min_reps), max_reps))
    warm = int(min(max(math.ceil(target_s / 4 / est), 2), max_reps))
    return warm, reps


class TorchBackend:
    """torch on `cuda` (device 0) or `cpu`. GEMMs via torch.mm (cuBLAS on CUDA), attention via SDPA."""

    def __init__(self, device: str, target_s: float = 0.1, min_reps: int = 5, max_reps: int = 200):
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise InputError("device", device, "CUDA is not available here (torch.cuda.is_available() is False)")
        self.torch, self.device = torch, torch.device("cuda" if device == "cuda" else "cpu")
        self.target_s, self.min_reps, self.max_reps = target_s, min_reps, max_reps
        self.is_cuda = self.device.type == "cuda"
        self.dtype = "bf16" if self.is_cuda else "fp32"
        self.library = "torch"
        self.copy_dtype = "bf16"
        self.grouped_libraries = ("torch_grouped_mm", "torch_mm_loop")
        self._gen = torch.Generator(device=self.device).manual_seed(0)
        self._flush = None
        if self.is_cuda:
            props = torch.cuda.get_device_properties(0)
            l2 = int(getattr(props, "L2_cache_size", 0) or 0)
            self._flush = torch.empty(max(256 * MiB, 2 * l2), dtype=torch.int8, device=self.device)

    # ------------------------------------------------------------ description and timing
    def info(self) -> dict:
        t = self.torch
        if self.is_cuda:
            assert self._flush is not None  # allocated on CUDA (__init__)
            p = t.cuda.get_device_properties(0)
            return {"backend": "torch", "device_type": "cuda", "device_name": t.cuda.get_device_name(0),
                    "cuda": t.version.cuda, "capability": list(t.cuda.get_device_capability(0)),
                    "sm_count": p.multi_processor_count, "memory_bytes": p.total_memory,
                    "l2_bytes": int(getattr(p, "L2_cache_size", 0) or 0),
                    "timing": f"CUDA events per call, median of reps (~{self.target_s}s, {self.min_reps}-"
                              f"{self.max_reps}), L2 flushed before each call by writing {self._flush.numel()} bytes"}
        from hundredx.calibrate.devices import cpu_name

        return {"backend": "torch", "device_type": "cpu", "device_name": cpu_name(),
                "cuda": None, "threads": t.get_num_threads(),
                "timing": f"time.perf_counter_ns per call, median of reps (~{self.target_s}s), no cache flush"}

    def _sync(self) -> None:
        if self.is_cuda:
            self.torch.cuda.synchronize()

    def _one(self, fn: Callable[[], object]) -> float:
        if not self.is_cuda:
            t0 = time.perf_counter_ns()
            fn()
            return (time.perf_counter_ns() - t0) * 1e-9
        start, end = (self.torch.cuda.Event(enable_timing=True) for _ in range(2))
        assert self._flush is not None  # allocated on CUDA (__init__)
        self._flush.zero_()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) * 1e-3

    def time_fn(self, fn: Callable[[], object]) -> dict:
        """Warm up, then time `fn` call by call; median and quartiles in seconds."""
        fn()
        self._sync()
        estimate = min(self._one(fn) for _ in range(3))
        warm, reps = rep_counts(estimate, self.target_s, self.min_reps, self.max_reps)
        for _ in range(warm):
            fn()
        self._sync()
        return _summary([self._one(fn) for _ in range(reps)])

    # ------------------------------------------------------------ inputs
    def _dt(self, name: str):
        t = self.torch
        table = {"bf16": t.bfloat16, "fp16": t.float16, "fp32": t.float32}
        if name not in table:
            raise Skip(f"dtype {name} not supported by the torch backend")
        return table[name]

    def randn(self, shape: tuple[int, ...], dtype: str):
        return self.torch.randn(shape, generator=self._gen, device=self.device, dtype=self._dt(dtype))

    # ------------------------------------------------------------ benchmarks
    def gemm(self, m: int, n: int, k: int, dtype: str) -> Callable[[], object]:
        a, b = self.randn((m, k), dtype), self.randn((k, n), dtype)
        out = self.torch.empty((m, n), device=self.device, dtype=self._dt(dtype))
        return lambda: self.torch.mm(a, b, out=out)

    def fp8_gemm(self, m: int, n: int, k: int) -> Callable[[], object]:
        """FP8 E4M3 x E4M3 -> BF16 with per-tensor scales via torch._scaled_mm (B column-major)."""
        t = self.torch
        if not self.is_cuda:
            raise Skip("FP8 GEMM benchmarked on CUDA only")
        if not hasattr(t, "_scaled_mm") or not hasattr(t, "float8_e4m3fn"):
            raise Skip(f"torch {t.__version__} has no torch._scaled_mm / float8_e4m3fn")
        if t.cuda.get_device_capability(0) < (8, 9):
            raise Skip(f"compute capability {t.cuda.get_device_capability(0)} < (8, 9): no FP8 tensor cores")
        a = self.randn((m, k), "bf16").to(t.float8_e4m3fn)
        b = self.randn((n, k), "bf16").to(t.float8_e4m3fn).t()
        one = t.ones((), device=self.device, dtype=t.float32)
        fn = lambda: t._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=t.bfloat16)  # noqa: E731
        try:
            fn()
        except RuntimeError as exc:
            raise Skip(f"torch._scaled_mm failed: {str(exc).splitlines()[0][:200]}") from None
        return fn

    def attention(self, c: dict) -> tuple[Callable[[], object], str]:
        """SDPA forward, flash backend forced (CUDA and CPU); math backend recorded as such if flash refuses."""
        from torch.nn.attention import SDPBackend, sdpa_kernel
        from torch.nn.functional import scaled_dot_product_attention as sdpa

        q = self.randn((c["batch"], c["heads_q"], c["seqlen_q"], c["head_dim"]), c["dtype"])
        k = self.randn((c["batch"], c["heads_kv"], c["seqlen_kv"], c["head_dim"]), c["dtype"])
        v = self.randn((c["batch"], c["heads_kv"], c["seqlen_kv"], c["head_dim"]), c["dtype"])
        gqa, reason = c["heads_kv"] != c["heads_q"], "no backend tried"
        for backend, label in ((SDPBackend.FLASH_ATTENTION, "sdpa_flash"), (SDPBackend.MATH, "sdpa_math")):
            if self.is_cuda and label == "sdpa_math":
                break  # the math path on a GPU is not what anyone serves with; record the refusal instead

            def fn(backend=backend):
                with sdpa_kernel(backend):
                    return sdpa(q, k, v, is_causal=c["causal"], enable_gqa=gqa)

            try:
                fn()
                return fn, label
            except RuntimeError as exc:
                reason = str(exc).splitlines()[0][:200]
        raise Skip(f"SDPA flash backend refused this shape: {reason}")

    def grouped_gemm(self, tokens: list[int], n: int, k: int, dtype: str, library: str) -> Callable[[], object]:
        """MoE expert GEMMs: torch._grouped_mm over contiguous rows, or one torch.mm per expert."""
        t = self.torch
        a = self.randn((sum(tokens), k), dtype)
        w = self.randn((len(tokens), n, k), dtype).transpose(-2, -1)  # [G, k, n] view, column-major per group
        if library == "torch_grouped_mm":
            if not hasattr(t, "_grouped_mm"):
                raise Skip(f"torch {t.__version__} has no torch._grouped_mm")
            offs = t.tensor(list(_cumsum(tokens)), device=self.device, dtype=t.int32)
            fn = lambda: t._grouped_mm(a, w, offs=offs)  # noqa: E731
            try:
                fn()
            except RuntimeError as exc:
                raise Skip(f"torch._grouped_mm failed: {str(exc).splitlines()[0][:200]}") from None
            return fn
        out = t.empty((sum(tokens), n), device=self.device, dtype=self._dt(dtype))
        bounds = list(zip([0, *_cumsum(tokens)][:-1], _cumsum(tokens)))

        def loop():
            for g, (s, e) in enumerate(bounds):
                t.mm(a[s:e], w[g], out=out[s:e])
            return out

        return loop

    def copy(self, nbytes: int) -> Callable[[], object]:
        src = self.randn((nbytes // 2,), "bf16")
        dst = self.torch.empty_like(src)
        return lambda: dst.copy_(src)

    def rmsnorm(self, rows: int, hidden: int, dtype: str) -> tuple[Callable[[], object], str]:
        t = self.torch
        x, w = self.randn((rows, hidden), dtype), self.randn((hidden,), dtype)
        if hasattr(t.nn.functional, "rms_norm"):
            return (lambda: t.nn.functional.rms_norm(x, (hidden,), w, eps=1e-6)), "torch.nn.functional.rms_norm"
        return (lambda: x * t.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6).to(x.dtype) * w), "torch_eager"


def _cumsum(values: list[int]) -> list[int]:
    out, acc = [], 0
    for v in values:
        acc += v
        out.append(acc)
    return out


def get_backend(device: str, impl: str = "auto", **timing) -> object:
    """`cuda` -> torch on CUDA; `cpu` -> torch on CPU when importable, else numpy (or `impl` = torch | numpy)."""
    if device not in ("cuda", "cpu"):
        raise InputError("device", device, "must be cuda or cpu")
    if impl not in ("auto", "torch", "numpy"):
        raise InputError("backend", impl, "must be auto, torch or numpy")
    if device == "cuda" or impl == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise InputError("device", device, "torch is not installed (pip install 'hundredx[gpu]')") from None
        return TorchBackend(device, **timing)
    if impl == "auto":
        try:
            import torch  # noqa: F401

            return TorchBackend(device, **timing)
        except ImportError:
            pass
    from hundredx.calibrate.backend_numpy import NumpyBackend

    return NumpyBackend(**timing)
