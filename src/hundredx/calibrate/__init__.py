"""Calibration: GPU microbenchmarks -> profiles of measured cases with provenance -> fitted kernel models.

`bench.run_calibration` runs the sweeps of `sweeps.plan` on a backend (`backend`: torch on
CUDA or CPU, `backend_numpy`: numpy on CPU; torch is imported lazily, it is the optional
`gpu` extra), `profile` validates and writes the profile file atomically, `fit` hands the
measured cases to `hundredx.kernel.fit`. Lookups of measured efficiencies at prediction
time live in `hundredx.kernel.measured`. See docs/calibration.md.
"""
