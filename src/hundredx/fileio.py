"""Safe file output shared by every layer: write to a temporary file beside the target, then rename.

A crash or kill never leaves a half-written output (docs/design.md, rule 9). The writer only ever
replaces a regular file: a path that names a directory, a device, a FIFO, a socket or a
symbolic link is refused with one `InputError` and left alone (`--html /dev/null` run as root
must not replace the device node). A full disk or a missing permission is an `InputError`
too, and the old file stays as it was. `atomic_write_many` lands several files together or
none of them: every temporary is written and synced first, then all are renamed. The file
gets the usual 0644-minus-umask permissions rather than mkstemp's private 0600.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from hundredx.errors import InputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_target(path: str | Path, field: str = "output") -> Path:
    """The path, if writing it replaces at most a regular file; InputError naming it otherwise."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(field, str(path), f"cannot inspect: {exc.strerror or exc}") from None
    if info is not None:
        kind = ("a symbolic link" if stat.S_ISLNK(info.st_mode) else "a directory" if stat.S_ISDIR(info.st_mode)
                else None if stat.S_ISREG(info.st_mode) else "a device, FIFO or socket")
        if kind:
            raise InputError(field, str(path), f"is {kind}; only a regular file is replaced")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise InputError(field, str(path), f"{parent} is not a directory")
    return path


def _write_temp(path: Path, data: str | bytes, field: str) -> str:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(field, str(path), f"cannot create a file there: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(field, str(path), f"cannot write (the old file is kept): {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: str | Path, data: str | bytes, field: str = "output") -> Path:
    """Write `data` to `path` atomically; returns the path."""
    return atomic_write_many({path: data}, field)[0]


def _backup(target: Path) -> str | None:
    """A hard link to the current file (to restore it if a later rename of the group fails)."""
    if not target.exists():
        return None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".bak", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    os.link(target, tmp)
    return tmp


def atomic_write_many(files: dict, field: str = "output") -> list[Path]:
    """Write every {path: data} atomically and together: all land or none does (module docstring)."""
    targets = [check_target(p, field) for p in files]
    temps: list[str] = []
    backups: list[str | None] = []
    done: list[int] = []
    try:
        for target, data in zip(targets, files.values()):
            temps.append(_write_temp(target, data, field))
        if len(targets) > 1:
            backups = [_backup(t) for t in targets]
        for i, (tmp, target) in enumerate(zip(temps, targets)):
            check_target(target, field)  # nothing was swapped in under us since the check
            os.replace(tmp, target)
            done.append(i)
    except OSError as exc:
        for i in done:  # put back what this group already replaced
            backup = backups[i] if backups else None
            if backup is not None:
                os.replace(backup, targets[i])
            else:
                targets[i].unlink(missing_ok=True)
        raise InputError(field, str(targets[len(done)] if len(done) < len(targets) else targets[-1]),
                         f"cannot write (nothing written): {exc.strerror or exc}") from None
    finally:
        for tmp in temps + [b for b in backups if b]:
            Path(tmp).unlink(missing_ok=True)
    return targets
