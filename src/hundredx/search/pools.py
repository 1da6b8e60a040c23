"""The search's name for the pool pricing of predict/pools.py (its one home): rows and `predict --disagg` agree."""

from hundredx.predict.pools import compose, pool_scenarios, predict_disaggregated, predict_pools, transfer_s

__all__ = ["compose", "pool_scenarios", "predict_disaggregated", "predict_pools", "transfer_s"]
