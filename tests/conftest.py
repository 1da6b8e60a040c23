"""Test-suite settings: hypothesis runs derandomized (CI sees the same examples every run)."""

from hypothesis import settings

settings.register_profile("hundredx", derandomize=True, deadline=None)
settings.load_profile("hundredx")
