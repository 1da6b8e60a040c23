"""How fast is the serving simulator? 10,000 requests of a Llama-3-70B-class deployment on one core.

The step cost is the analytic `LinearStepCost` wrapped in `MemoStepCost` (as the real,
predict-backed cost will be), with constants of the right size for Llama-3-70B in FP8 on
one 8 x H100-SXM replica (TP8):
  weights 70.6 GB FP8 read once per step at 8 x 3.35 TB/s (H100 SXM datasheet), ~80 % of peak -> 3.3 ms
  + 1 ms launch/sync overhead                                                    -> fixed_s = 4.3e-3
  2 x 70.6e9 FLOP per token at 8 x 1979 TFLOP/s dense FP8 (datasheet), 50 %     -> 17.8 us/token
  KV: 80 layers x 8 KV heads x 128 dims x 2 (K, V) x 1 B (FP8) = 163,840 B/token (config.json)
  decode attention reads that at ~80 % of 26.8 TB/s                             -> 7.6 ns/context token
  KV capacity: 8 x 80 GB - 70.6 GB weights, 90 % usable                         -> ~512 GB
The last scenario uses the real predict-backed step cost (`serve.from_stack`), cold cache included.
Run: python benchmarks/serve_speed.py  (wall and CPU time per scenario; issue 12's target: a closed-loop
10,000-request simulation <= 1 s).
"""

from __future__ import annotations

import time

from hundredx.kernel.runtime import SchedulerSpec, SpeculativeSpec
from hundredx.serve import Deployment, KVTransfer, LengthDist, LinearStepCost, MemoStepCost, Pool, Workload, simulate

KV_BYTES_PER_TOKEN = 80 * 8 * 128 * 2 * 1.0
LLAMA70B_H100X8 = LinearStepCost(fixed_s=4.3e-3, prefill_s_per_token=17.8e-6, prefill_s_per_context_token=0.0,
                                 decode_s_per_seq=17.8e-6, decode_s_per_context_token=7.6e-9,
                                 kv_bytes_per_token=KV_BYTES_PER_TOKEN, kv_capacity_bytes=0.9 * (8 * 80e9 - 70.6e9))
N = 10_000


def scenarios() -> dict[str, tuple[Deployment, Workload]]:
    memo = MemoStepCost(LLAMA70B_H100X8)
    pool = Pool(memo, replicas=4, devices_per_replica=8, scheduler=SchedulerSpec(max_seqs=256, max_batched_tokens=8192))
    lengths = dict(input_len=LengthDist("lognormal", 1024, sigma=0.5, high=8192),
                   output_len=LengthDist("lognormal", 1024, sigma=0.5, high=8192))
    return {
        "closed loop, concurrency 256, 4 replicas": (
            Deployment(pool), Workload(num_requests=N, arrival="closed", concurrency=256, **lengths)),
        "poisson 30 req/s, 4 replicas, prefix cache": (
            Deployment(Pool(memo, replicas=4, devices_per_replica=8, scheduler=SchedulerSpec(prefix_cache=True))),
            Workload(num_requests=N, arrival="poisson", rate_per_s=30, prefix_groups=50, prefix_tokens=512, **lengths)),
        "P/D 2:2 poisson 30 req/s": (
            Deployment(Pool(memo, replicas=2, devices_per_replica=8),
                       prefill=Pool(memo, replicas=2, devices_per_replica=8),
                       transfer=KVTransfer(link_bytes_per_s=50e9, latency_s=20e-6)),
            Workload(num_requests=N, arrival="poisson", rate_per_s=30, **lengths)),
        "speculative k=3 a=0.7, closed loop 256": (
            Deployment(pool, speculative=SpeculativeSpec(draft_tokens=3, acceptance=0.7), draft_fixed_s=1e-3),
            Workload(num_requests=N, arrival="closed", concurrency=256, **lengths)),
    }


def predict_backed() -> tuple[Deployment, Workload]:
    """The real thing: Llama-3.1-70B FP8 on one 8x H100 replica, step costs from predict (cold cache)."""
    from hundredx.scenario import build
    from hundredx.serve.from_stack import deployment_from_stack

    stack = build("meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", tp=8, weights="fp8", kv="fp8",
                  scheduler=SchedulerSpec(max_seqs=256)).stack
    lengths = dict(input_len=LengthDist("lognormal", 1024, sigma=0.5, high=8192),
                   output_len=LengthDist("lognormal", 1024, sigma=0.5, high=8192))
    return deployment_from_stack(stack), Workload(num_requests=N, arrival="closed", concurrency=256, **lengths)


def benchmark_client() -> tuple[Deployment, Workload]:
    """A benchmark client's closed loop: Llama-3.1-8B FP8 on one H100, 64 clients, fixed 1024/128 tokens."""
    from hundredx.scenario import build
    from hundredx.serve.from_stack import deployment_from_stack

    stack = build("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", tp=1, weights="fp8").stack
    return deployment_from_stack(stack), Workload(num_requests=N, arrival="closed", concurrency=64, isl=1024, osl=128)


def main() -> None:
    runs = dict(scenarios())
    runs["predict-backed Llama-3.1-70B FP8 8xH100, closed 256"] = predict_backed()
    runs["predict-backed Llama-3.1-8B 1xH100, closed 64, 1024/128"] = benchmark_client()
    for name, (dep, work) in runs.items():
        start, cpu0 = time.perf_counter(), time.process_time()
        res = simulate(dep, work, seed=0)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        print(f"{name:45s} {wall:6.2f} s wall {cpu:6.2f} s CPU  {res['steps']:7d} iterations  "
              f"{res['output_tokens_per_s_per_device']:8.0f} tok/s/device  TTFT p50 {res['ttft_p50_s'] * 1e3:7.1f} ms  "
              f"TPOT p50 {res['tpot_p50_s'] * 1e3:5.1f} ms")


if __name__ == "__main__":
    main()
