"""An optional fetch of a model's `config.json` from the Hugging Face Hub (`--model hf:ORG/NAME`).

Only `config.json` is fetched (never weights), with `huggingface_hub.hf_hub_download` (the `hub`
extra: `pip install 'hundredx[hub]'`), and kept under `$HUNDREDX_HOME/hub/ORG/NAME/config.json`
(the same home as kernel/loading.py's `home_dir`: $HUNDREDX_HOME, else the platform's user data
directory). A cached config is used without the network. Offline (`HF_HUB_OFFLINE=1`, or the Hub
unreachable) a config that is not cached is a refusal naming the model and what to do instead;
gated repositories need the user's own `huggingface-cli login`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hundredx.errors import InputError

PREFIX = "hf:"
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def _home() -> Path:
    env = os.environ.get("HUNDREDX_HOME", "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("hundredx", appauthor=False))


def cache_path(repo_id: str) -> Path:
    """Where the config of `repo_id` is kept."""
    return _home() / "hub" / repo_id / "config.json"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def fetch_config(ref: str) -> Path:
    """The local path of `hf:ORG/NAME`'s config.json: cached, else downloaded (module docstring)."""
    repo_id = ref[len(PREFIX):] if ref.startswith(PREFIX) else ref
    if not _REPO.match(repo_id) or ".." in repo_id:
        raise InputError("model", ref, "a Hub model is hf:ORG/NAME, e.g. hf:Qwen/Qwen3-8B")
    target = cache_path(repo_id)
    if target.is_file():
        return target
    why = f"config.json of {repo_id} is not cached under {target.parent}"
    if _offline():
        raise InputError("model", ref, f"{why} and the Hub is offline (HF_HUB_OFFLINE=1); download config.json "
                                       "and pass its path, or fetch it once online")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise InputError("model", ref, f"{why}; fetching it needs the `hub` extra: pip install 'hundredx[hub]'"
                         ) from None
    try:
        downloaded = hf_hub_download(repo_id, "config.json")
    except Exception as exc:  # noqa: BLE001 - network, auth and missing-repo errors all become one line
        raise InputError("model", ref, f"{why} and the Hub did not give it ({type(exc).__name__}: "
                                       f"{str(exc).splitlines()[0] if str(exc) else 'no message'}); offline? pass "
                                       "a config.json path instead") from None
    from hundredx.fileio import atomic_write

    atomic_write(target, Path(downloaded).read_bytes())
    return target
