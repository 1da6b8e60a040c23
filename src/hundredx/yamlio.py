"""Read untrusted YAML as plain data: bounded in bytes, nesting and alias expansion, YAML 1.2 scalars.

`yaml.safe_load` alone has three problems for files users hand us: an alias "bomb" (a few
hundred bytes whose anchors expand to billions of nodes) exhausts memory when anything walks
the result; nesting thousands deep overflows the stack; and PyYAML reads YAML 1.1, where `5e-2`
is a string and `yes`/`no`/`on`/`off` are booleans. `load(text)` composes the node graph,
refuses it when its expanded size exceeds MAX_NODES or its depth MAX_DEPTH (counted with
memoization over shared anchors, so the check itself is linear), and resolves scalars the
YAML 1.2 core schema way: only true/false are booleans, and decimal numbers with an exponent
but no dot (`5e-2`, `1E9`) are floats.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hundredx.errors import InputError

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64

_FLOAT_12 = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"
                       r"|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")
_BOOL_12 = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema booleans and floats."""


_Loader.yaml_implicit_resolvers = {k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:bool",
                                                                                   "tag:yaml.org,2002:float")]
                                   for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def _measure(node: yaml.Node, field: str) -> None:
    """Refuse a node graph whose expanded size or depth is over the limits (memoized on shared nodes)."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise InputError(field, f"nesting > {MAX_DEPTH}", "YAML nested too deeply")
        key = id(n)
        if key in sizes:
            return sizes[key]
        if isinstance(n, yaml.MappingNode):
            total = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in n.value)
        elif isinstance(n, yaml.SequenceNode):
            total = 1 + sum(size(v, depth + 1) for v in n.value)
        else:
            total = 1
        if total > MAX_NODES:
            raise InputError(field, f"> {MAX_NODES} nodes", "YAML expands to too many nodes (anchors/aliases?)")
        sizes[key] = total
        return total

    size(node, 0)


def load(text: str, field: str = "yaml") -> Any:
    """Plain data of one YAML document (module docstring); InputError(field, ...) on bad input."""
    if len(text) > MAX_BYTES:
        raise InputError(field, f"{len(text)} bytes", f"larger than {MAX_BYTES} bytes")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, field)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError(field, "<yaml>", f"not valid YAML: {str(exc).splitlines()[0][:160]}") from None
    except RecursionError:
        raise InputError(field, "<yaml>", "YAML nested too deeply") from None
    finally:
        loader.dispose()


def read(path: str | Path, field: str = "yaml") -> Any:
    """`load` the file at `path` (size checked before reading)."""
    p = Path(path)
    try:
        if not p.is_file():
            raise InputError(field, str(path), "no such file" if not p.exists() else "not a regular file")
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(field, str(path), f"file is {size} bytes; limit {MAX_BYTES}")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(field, str(path), f"cannot read: {exc}") from None
    return load(text, field)
