"""Calibration: GPU microbenchmarks -> profiles of measured cases with provenance -> fitted kernel models.

`bench.run_calibration` runs the sweeps of `sweeps.plan` on a backend (`backend`: torch on
CUDA or CPU, `backend_numpy`: numpy on CPU; torch is imported lazily, it is the optional
`gpu` extra), `profile` validates and writes the profile file atomically, `fitter` fits the
kernel models' parameters to measured cases and saves them, `fit` runs it on profiles and
writes $HUNDREDX_HOME/fitted/ (never the installed package). Loading parameters
(`hundredx.kernel.loading`) and looking up measured efficiencies at prediction time
(`hundredx.kernel.measured`) are the kernel layer's. See docs/calibration.md.
"""
