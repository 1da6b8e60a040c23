"""numpy columns <-> Arrow arrays through their buffers (what the search store writes and reads).

pyarrow's own converters (`pa.array`, `Array.to_numpy`, `pq.read_table`) import pandas on their
first call, half a second or more of a `hundredx search` process; building and reading arrays from
their buffers does not. Numbers (float64, int64) are their own buffers; booleans are bit-packed
(little-endian, as Arrow lays them out); text columns are dictionary-encoded (int32 codes into the
distinct strings, which a search's labels, modes and reasons are few of). Columns hold no nulls.
"""

from __future__ import annotations

import numpy as np


def _strings(values: list[str]):
    import pyarrow as pa

    data = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(data) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(d) for d in data], dtype=np.int64)
    return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])


def to_arrow(values: np.ndarray):
    """An Arrow array of one numpy column (module docstring)."""
    import pyarrow as pa

    n = int(values.size)
    if values.dtype == object:
        items = values.tolist()
        index = {v: i for i, v in enumerate(dict.fromkeys(items))}
        codes = np.fromiter(map(index.__getitem__, items), dtype=np.int32, count=n)
        indices = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(codes)])
        return pa.DictionaryArray.from_arrays(indices, _strings([str(v) for v in index]))
    if values.dtype == bool:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])
    kind = {np.dtype(np.float64): pa.float64(), np.dtype(np.int64): pa.int64()}[values.dtype]
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(np.ascontiguousarray(values))])


def _decode(dictionary) -> np.ndarray:
    offsets = np.frombuffer(dictionary.buffers()[1], dtype=np.int32, count=len(dictionary) + 1,
                            offset=dictionary.offset * 4)
    data = bytes(dictionary.buffers()[2]) if dictionary.buffers()[2] is not None else b""
    out = np.empty(len(dictionary), dtype=object)
    for i in range(len(dictionary)):
        out[i] = data[offsets[i]:offsets[i + 1]].decode("utf-8")
    return out


def _chunk(array) -> np.ndarray:
    import pyarrow as pa

    n, start = len(array), array.offset
    if pa.types.is_dictionary(array.type):
        codes = np.frombuffer(array.indices.buffers()[1], dtype=np.int32, count=n, offset=array.indices.offset * 4)
        return _decode(array.dictionary)[codes]
    if pa.types.is_boolean(array.type):
        bits = np.unpackbits(np.frombuffer(array.buffers()[1], dtype=np.uint8), bitorder="little")
        return bits[start:start + n].astype(bool)
    if pa.types.is_string(array.type):
        return _decode(array)
    dtype = np.float64 if pa.types.is_floating(array.type) else np.int64
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=n, offset=start * 8).copy()


def to_numpy(column) -> np.ndarray:
    """A numpy column of an Arrow (chunked) array written by `to_arrow`."""
    chunks = getattr(column, "chunks", [column])
    parts = [_chunk(c) for c in chunks]
    if not parts:
        return np.empty(0)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


__all__ = ["to_arrow", "to_numpy"]
