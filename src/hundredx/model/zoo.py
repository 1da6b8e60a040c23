"""Resolve a model reference to a config.json and load it as a ModelSpec.

A reference is a zoo id ("meta-llama/Llama-3.1-8B-Instruct"), a unique case-insensitive
zoo name ("llama-3.1-8b-instruct"), a path to a config.json, or a folder holding one.
Files are parsed with `json` only and bounded in size (docs/design.md, rule 10).

Aliases (`ALIASES`): ids users type for a checkpoint whose architecture config is the same as a
zoo entry's (base vs instruct/chat of one architecture; Meta's pre-rename "Meta-Llama-3.1-*"
ids). Each alias names its target and the source that says the two share a config; resolving an
alias loads the target's config.json and the ModelSpec keeps the typed id, its `source` saying
"alias of <target>". zoo/SOURCES.md lists them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hundredx.errors import InputError
from hundredx.model.config import spec_from_config
from hundredx.model.quant import with_quant
from hundredx.model.spec import ModelSpec

ZOO = Path(__file__).resolve().parents[1] / "zoo"
MAX_CONFIG_BYTES = 10 * 1000 * 1000


_LITGPT = ("litgpt==0.5.13 litgpt/config.py: one architecture entry expanded to the base and the {kind} "
           "checkpoint ids ({where})")
_LLAMA31 = _LITGPT.format(kind="-Instruct", where="`for kind in (\"\", \"-Instruct\")` over llama_3")
ALIASES: dict[str, tuple[str, str]] = {
    **{f"meta-llama/{prefix}Llama-3.1-{size}{kind}": (f"meta-llama/Llama-3.1-{size}-Instruct", _LLAMA31)
       for size in ("8B", "70B", "405B") for prefix, kind in (("", ""), ("Meta-", ""), ("Meta-", "-Instruct"))},
    "meta-llama/Llama-2-70b-chat-hf": (
        "meta-llama/Llama-2-70b-hf",
        _LITGPT.format(kind="-chat", where="`for kind in (\"\", \"-chat\")` over llama_2")),
    "mistralai/Mixtral-8x7B-v0.1": ("mistralai/Mixtral-8x7B-Instruct-v0.1",
                                    _LITGPT.format(kind="Instruct-", where="`for kind in (\"\", \"Instruct-\")` over "
                                                                            "mistral")),
}


def alias_target(ref: str) -> tuple[str, str, str] | None:
    """(alias id, zoo id, source) when `ref` (case-insensitive, with or without the org) is a recorded
    alias, else None."""
    lowered = ref.lower() if isinstance(ref, str) else ""
    for alias, (target, why) in ALIASES.items():
        if alias.lower() == lowered or alias.split("/", 1)[1].lower() == lowered:
            return alias, target, why
    return None


def list_models() -> list[str]:
    """Zoo ids, sorted: '<org>/<name>' for every zoo/<org>/<name>/config.json."""
    return sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in ZOO.glob("*/*/config.json"))


def _resolve(ref: str) -> tuple[str, Path]:
    if not isinstance(ref, str) or not ref.strip():
        raise InputError("model", ref, "give a zoo id, a zoo name, a config.json path or a folder")
    ids = list_models()
    if ref in ids:
        return ref, ZOO / ref / "config.json"
    lowered = ref.lower()
    matches = [i for i in ids if i.lower() == lowered or i.split("/", 1)[1].lower() == lowered]
    if len(matches) == 1:
        return matches[0], ZOO / matches[0] / "config.json"
    if len(matches) > 1:
        raise InputError("model", ref, f"ambiguous; matches {', '.join(matches)}")
    path = Path(ref).expanduser()
    if path.is_dir():
        path = path / "config.json"
    if path.is_file():
        return (path.parent.name if path.name == "config.json" else path.stem), path
    close = [i for i in ids if lowered in i.lower()]
    hint = f"did you mean {', '.join(close[:5])}?" if close else "see `hundredx model list`"
    raise InputError("model", ref, f"not a zoo model, config.json or folder; {hint}")


def read_config(path: Path) -> dict:
    """Read one config.json as JSON data, refusing files over MAX_CONFIG_BYTES."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise InputError("model", str(path), f"config is {size} bytes; limit {MAX_CONFIG_BYTES}")
        with path.open("rb") as handle:
            data = json.loads(handle.read(MAX_CONFIG_BYTES + 1).decode("utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("model", str(path), f"cannot read as JSON: {exc}") from None
    except ValueError as exc:
        raise InputError("model", str(path), f"not valid config JSON: {exc}") from None
    except RecursionError:
        raise InputError("model", str(path), "JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError("model", str(path), "config.json must hold a JSON object")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number a config may hold")


def _from_mapping(ref: Any) -> ModelSpec:
    """A ModelSpec of a config mapping, or of anything with `.to_dict()` (a transformers
    `PretrainedConfig`, duck-typed: transformers is not needed)."""
    data = ref.to_dict() if hasattr(ref, "to_dict") and not isinstance(ref, dict) else ref
    if not isinstance(data, dict):
        raise InputError("model", type(ref).__name__, "to_dict() must give a config mapping")
    data = json.loads(json.dumps(data, default=str))  # plain JSON data, as a config.json would hold
    name = str(data.get("_name_or_path") or getattr(ref, "name_or_path", "") or data.get("model_type") or "<dict>")
    return spec_from_config(data, name, source=f"<{type(ref).__name__}>")


def load_model(ref: Any, weights: str | None = None, kv: str | None = None, act: str | None = None) -> ModelSpec:
    """Load a ModelSpec from a zoo id or name, a config.json path or folder, `hf:ORG/NAME` (the
    Hub's config.json, model/hub.py), a config dict or a `transformers.PretrainedConfig`;
    optional format names override the config's quantization."""
    if isinstance(ref, str) and ref.startswith("hf:"):
        from hundredx.model.hub import fetch_config

        path = fetch_config(ref)
        spec = spec_from_config(read_config(path), ref[3:], source=f"{ref} ({path})")
    elif isinstance(ref, dict) or (not isinstance(ref, str) and hasattr(ref, "to_dict")):
        spec = _from_mapping(ref)
    elif (alias := alias_target(ref) if ref not in list_models() else None) is not None:
        model_id, target, why = alias
        _, path = _resolve(target)
        spec = spec_from_config(read_config(path), model_id, source=f"{path} (alias of {target}: {why})")
    else:
        model_id, path = _resolve(ref)
        spec = spec_from_config(read_config(path), model_id, source=str(path))
    if weights is not None or kv is not None or act is not None:
        spec = with_quant(spec, weights=weights, act=act, kv=kv)
    return spec
