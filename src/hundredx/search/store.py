"""The search store: a directory of Parquet chunks (one per work unit) and a JSON manifest.

    DIR/manifest.json            hundredx version, space hash, seed, dates, the question, the
                                 space, the units (their structure), the variants left out, and
                                 `complete` once every unit is stored
    DIR/chunks/unit-000123.parquet   every row of unit 123 (search/rows.py SCHEMA + axis columns)

Each chunk is written whole through `fileio.atomic_write` (temporary file, fsync, rename), so a
kill at any instant - SIGKILL included - leaves every chunk either complete or absent; the
temporaries a kill strands are removed on resume. `--resume` keeps the chunks of units already
stored and evaluates the rest: no row is lost and none is stored twice (a unit is one file).
Resuming refuses a directory whose space hash differs (another question or space), and a fresh
search refuses a directory that already holds chunks.

`query(DIR, SQL)` runs DuckDB over the rows: the chunks are read into memory as the table
`rows` (the manifest's question as `manifest`), then DuckDB's external access is switched off
and its configuration locked, so the SQL reads and writes no other file.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hundredx.errors import InputError
from hundredx.fileio import atomic_write
from hundredx.search.arrow import to_arrow, to_numpy

MANIFEST = "manifest.json"
CHUNKS = "chunks"
MAX_SQL = 100_000


def chunk_path(out: Path, unit: int) -> Path:
    return out / CHUNKS / f"unit-{unit:06d}.parquet"


def stored_units(out: Path) -> set[int]:
    """Units whose chunk is on disk (complete by construction)."""
    folder = out / CHUNKS
    if not folder.is_dir():
        return set()
    return {int(p.stem.split("-")[1]) for p in folder.glob("unit-*.parquet") if p.stem.split("-")[1].isdigit()}


def _clean_temporaries(out: Path) -> None:
    folder = out / CHUNKS
    if folder.is_dir():
        for p in folder.glob(".unit-*.tmp"):
            p.unlink(missing_ok=True)


def read_manifest(out: Path) -> dict:
    path = out / MANIFEST
    if not path.is_file():
        raise InputError("out", str(out), "no search here (no manifest.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8")[:10_000_000])
    except (OSError, ValueError) as exc:
        raise InputError("out", str(path), f"cannot read the manifest: {exc}") from None
    if not isinstance(data, dict) or "space_hash" not in data:
        raise InputError("out", str(path), "not a hundredx search manifest")
    return data


def open_store(out: str | Path, manifest: dict, resume: bool) -> tuple[Path, set[int], dict]:
    """Prepare `out` for a search with `manifest`; (path, units already stored, the manifest written)."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InputError("out", str(path), "is not a directory")
    done = stored_units(path)
    if resume:
        if (path / MANIFEST).exists():
            old = read_manifest(path)
            if old["space_hash"] != manifest["space_hash"]:
                hashes = f"{old['space_hash'][:12]} vs {manifest['space_hash'][:12]}"
                raise InputError("resume", str(path), f"the stored search answers another question or space "
                                                      f"(space hash {hashes})")
            manifest = {**manifest, "created": old.get("created", manifest["created"])}
        _clean_temporaries(path)
    elif done:
        raise InputError("out", str(path), "already holds a search; use --resume to finish it or another --out")
    manifest = {**manifest, "complete": False}
    write_manifest(path, manifest)
    return path, done if resume else set(), manifest


def write_manifest(out: Path, manifest: dict) -> None:
    atomic_write(out / MANIFEST, json.dumps(manifest, indent=1, default=str) + "\n", "out")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_table(cols: dict[str, Any]):
    """A pyarrow Table of one unit's columns (search/arrow.py: text dictionary-encoded)."""
    import pyarrow as pa

    return pa.Table.from_arrays([to_arrow(v) for v in cols.values()], names=list(cols))


def write_chunk(out: Path, unit: int, cols: dict[str, Any]) -> int:
    """Store one unit's rows atomically; returns the row count."""
    import pyarrow.parquet as pq

    table = to_table(cols)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", compression_level=1)
    atomic_write(chunk_path(out, unit), buf.getvalue(), "out")
    return table.num_rows


def read_rows(out: str | Path, columns: list[str] | None = None):
    """Every stored row as one pyarrow Table (chunks in unit order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(out)
    files = sorted((path / CHUNKS).glob("unit-*.parquet"))
    if not files:
        raise InputError("out", str(path), "holds no rows")
    tables = [pq.ParquetFile(f).read(columns=columns) for f in files]
    return pa.concat_tables(tables, promote_options="default")


def read_columns(out: str | Path, columns: list[str] | None = None) -> dict:
    """Every stored row as numpy columns (search/arrow.py)."""
    table = read_rows(out, columns)
    return {name: to_numpy(table.column(name)) for name in table.column_names}


def query(out: str | Path, sql: str) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of DuckDB `sql` over the table `rows` (module docstring)."""
    import duckdb

    if not isinstance(sql, str) or not sql.strip() or len(sql) > MAX_SQL:
        raise InputError("sql", sql[:80] if isinstance(sql, str) else sql, f"give one SQL query under {MAX_SQL} chars")
    path = Path(out)
    manifest = read_manifest(path)
    rows = read_rows(path)
    import pyarrow as pa

    meta = pa.table({"key": ["hundredx", "space_hash", "seed", "created", "question", "complete"],
                     "value": [str(manifest.get(k)) if k != "question" else json.dumps(manifest.get(k))
                               for k in ("hundredx", "space_hash", "seed", "created", "question", "complete")]})
    con = duckdb.connect(":memory:")
    try:
        con.register("rows_arrow", rows)
        con.register("manifest_arrow", meta)
        con.execute("CREATE TABLE rows AS SELECT * FROM rows_arrow")
        con.execute("CREATE TABLE manifest AS SELECT * FROM manifest_arrow")
        con.unregister("rows_arrow")
        con.unregister("manifest_arrow")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            cur = con.execute(sql)
        except duckdb.Error as exc:
            raise InputError("sql", sql[:80], str(exc).splitlines()[0][:200]) from None
        if cur.description is None:
            return [], []
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()
    finally:
        con.close()


__all__ = ["chunk_path", "open_store", "query", "read_columns", "read_manifest", "read_rows", "stored_units",
           "write_chunk", "write_manifest"]
