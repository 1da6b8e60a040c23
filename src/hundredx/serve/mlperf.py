"""MLPerf Inference datacenter LLM benchmarks as workloads: dataset lengths and scenario rules.

Scenarios (MLPerf Inference rules, inference_rules.adoc, mlcommons/inference_policies @ac93e89c):
  Offline      all samples at once; the result is throughput.
  Server       Poisson arrivals; the result is the highest rate whose p99 TTFT and p99 TPOT
               meet the benchmark's limits (loadgen `ttft_latency` / `tpot_latency`).
  Interactive  the Server rules with the tighter "-interactive" limits.
Latency limits: loadgen/mlperf.conf (mlcommons/inference @001712e9), `<model>.Server.ttft_latency`,
`tpot_latency` in ms; the same figures are in the rules' benchmark table (inference_rules.adoc
lines 266-270). Sample counts: mlperf.conf `performance_sample_count_override`.
Dataset lengths: the mean output tokens per sample is the rules' `tokens_per_sample` reference
(accuracy table, inference_rules.adoc lines 267-269); the maximum lengths are the datasets'
`max_seq_len`. A mean input length the rules do not publish is an assumption, marked as one,
and every prediction that uses it lists it (`assumptions`). A benchmark without a published
output mean is refused unless the case records isl / osl.
"""

from __future__ import annotations

from dataclasses import dataclass

from hundredx.errors import InputError

RULES = "MLPerf Inference rules (mlcommons/inference_policies inference_rules.adoc @ac93e89c)"
CONF = "MLPerf loadgen mlperf.conf (mlcommons/inference loadgen/mlperf.conf @001712e9)"
SCENARIOS = ("offline", "server", "interactive")


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One MLPerf LLM benchmark: dataset, length statistics, latency limits (s), with sources."""

    name: str
    dataset: str
    samples: int
    osl_mean: float | None
    max_seq_len: int
    server_ttft_s: float
    server_tpot_s: float
    interactive_ttft_s: float | None
    interactive_tpot_s: float | None
    isl_mean: float | None = None
    isl_source: str = ""
    osl_source: str = RULES + ", tokens_per_sample"

    def limits(self, scenario: str) -> tuple[float, float]:
        """(TTFT, TPOT) p99 limits in seconds of a server-type scenario."""
        if scenario == "server":
            return self.server_ttft_s, self.server_tpot_s
        if scenario == "interactive" and self.interactive_ttft_s is not None and self.interactive_tpot_s is not None:
            return self.interactive_ttft_s, self.interactive_tpot_s
        raise InputError("scenario", scenario, f"{self.name} has no latency limits for it")


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    # llama2-70b: OpenOrca (max_seq_len=1024), 24576 samples, tokens_per_sample=294.45 (rules line 267);
    # Server 2000 ms / 200 ms, interactive 450 ms / 40 ms (mlperf.conf llama2-70b[-interactive].Server).
    Benchmark("llama2-70b", "OpenOrca (max_seq_len=1024)", 24576, 294.45, 1024, 2.0, 0.2, 0.45, 0.04,
              isl_mean=512.0, isl_source="assumed: half of max_seq_len 1024 (the rules publish no mean input)"),
    # mixtral-8x7b: OpenOrca + GSM8K + MBXP, 5k each (max_seq_len=2048), 15000 samples, tokens_per_sample=144.84
    # (rules line 269); TTFT/TPOT 2000 ms / 200 ms (mlperf.conf mixtral-8x7b.Server).
    Benchmark("mixtral-8x7b", "OpenOrca + GSM8K + MBXP (max_seq_len=2048)", 15000, 144.84, 2048, 2.0, 0.2, None, None,
              isl_mean=512.0, isl_source="assumed: a quarter of max_seq_len 2048 (the rules publish no mean input)"),
    # llama3.1-405b: LongBench, LongDataCollections, Ruler, GovReport subset, 8313 samples, tokens_per_sample=684.68
    # (rules line 268); Server 6000 ms / 175 ms, interactive 4500 ms / 80 ms (mlperf.conf llama3_1-405b).
    Benchmark("llama3.1-405b", "LongBench + LongDataCollections + Ruler + GovReport subset", 8313, 684.68, 20000,
              6.0, 0.175, 4.5, 0.08),
    # llama3.1-8b: CNN-DailyMail (max_seq_len=2048), 13368 samples (rules line 266; the rules give a total
    # generation length in characters, not tokens); Server 2000 ms / 100 ms, interactive 500 ms / 30 ms.
    Benchmark("llama3.1-8b", "CNN-DailyMail v3.0.0 (max_seq_len=2048)", 13368, None, 2048, 2.0, 0.1, 0.5, 0.03),
    # deepseek-r1: mlperf_deepseek_r1, 4388 samples (rules line 270, no length reference published);
    # Server 2000 ms / 80 ms, interactive 1500 ms / 15 ms (mlperf.conf deepseek-r1[-interactive]).
    Benchmark("deepseek-r1", "mlperf_deepseek_r1", 4388, None, 0, 2.0, 0.08, 1.5, 0.015),
)}


def benchmark(name: str) -> Benchmark:
    """The benchmark of an MLPerf id: `llama2-70b-99`, `llama2-70b-99.9`, `llama3_1-405b`, ... ."""
    key = str(name).lower().replace("llama3_1", "llama3.1").replace("-interactive", "")
    for suffix in ("-99.9", "-99"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    if key not in BENCHMARKS:
        raise InputError("benchmark", name, f"not a known MLPerf LLM benchmark ({', '.join(BENCHMARKS)})")
    return BENCHMARKS[key]


def lengths(bench: Benchmark, isl: float | None = None, osl: float | None = None) -> tuple[float, float, list[str]]:
    """(mean isl, mean osl, assumptions) of a benchmark; recorded isl/osl win over the table."""
    notes: list[str] = []
    if isl is None:
        if bench.isl_mean is None:
            raise InputError("isl", None, f"{bench.name}: no published mean input length; record isl in the case")
        isl = bench.isl_mean
        notes.append(f"{bench.name} mean input {isl:g} tokens ({bench.isl_source})")
    if osl is None:
        if bench.osl_mean is None:
            raise InputError("osl", None, f"{bench.name}: no published mean output length; record osl in the case")
        osl = bench.osl_mean
        notes.append(f"{bench.name} mean output {osl:g} tokens ({bench.osl_source})")
    return float(isl), float(osl), notes


def workload(name: str, scenario: str, rate_per_s: float | None = None, num_requests: int | None = None):
    """The simulator's `scenario.Workload` of an MLPerf benchmark and scenario, with the assumptions made:
    Offline submits every sample at t = 0; Server / Interactive are Poisson arrivals at `rate_per_s`
    (the quantity the benchmark searches for) with the scenario's latency limits. Lengths are the
    dataset means (fixed; the rules publish no distribution)."""
    from hundredx.scenario.workload import Workload

    bench = benchmark(name)
    scenario = str(scenario).lower()
    if scenario not in SCENARIOS:
        raise InputError("scenario", scenario, f"must be one of {', '.join(SCENARIOS)}")
    isl, osl, notes = lengths(bench)
    n = num_requests if num_requests is not None else bench.samples
    i, o = max(int(round(isl)), 1), max(int(round(osl)), 1)
    if scenario == "offline":
        return Workload(isl=i, osl=o, num_requests=n, arrival="offline"), notes
    if rate_per_s is None:
        raise InputError("rate_per_s", None, f"MLPerf {scenario} runs Poisson arrivals: give the rate to simulate")
    ttft, tpot = bench.limits(scenario)
    return Workload(isl=i, osl=o, num_requests=n, arrival="poisson", rate_per_s=rate_per_s, ttft_limit_s=ttft,
                    tpot_limit_s=tpot), notes


__all__ = ["BENCHMARKS", "Benchmark", "SCENARIOS", "benchmark", "lengths", "workload"]
