"""The output writer replaces only regular files, atomically; groups land together or not at all."""

from __future__ import annotations

import os

import pytest

from hundredx.errors import InputError
from hundredx.fileio import atomic_write, atomic_write_many


def test_writes_and_replaces_regular_files(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write(target, "one")
    atomic_write(target, b"two")
    assert target.read_text() == "two" and sorted(os.listdir(target.parent)) == ["out.txt"]


def test_refuses_directories_symlinks_and_fifos(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("keep")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, word in ((tmp_path, "directory"), (link, "symbolic link"), (fifo, "FIFO")):
        with pytest.raises(InputError) as exc:
            atomic_write(path, "x")
        assert word in str(exc.value) and exc.value.field == "output"
    assert real.read_text() == "keep" and link.is_symlink()
    with pytest.raises(InputError, match="device"):
        atomic_write("/dev/null", "x")


def test_group_lands_together_or_not_at_all(tmp_path, monkeypatch):
    a, b = tmp_path / "a.html", tmp_path / "b.png"
    a.write_text("old a")
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 2 and str(dst) == str(b):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(InputError, match="nothing written"):
        atomic_write_many({a: "new a", b: b"png"})
    monkeypatch.setattr(os, "replace", real_replace)
    assert a.read_text() == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html"]
    atomic_write_many({a: "new a", b: b"png"})
    assert a.read_text() == "new a" and b.read_bytes() == b"png"


def test_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(InputError, match="No space left"):
        atomic_write(target, "new")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
