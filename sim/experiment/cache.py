"""Finished replicas on disk, so that an interrupted run resumes where it stopped.

One file per simulated replica, `OUT/.cache/<result name>/<key>.npz`. The key is a
SHA-256 of everything the replica depends on: the variant's fully resolved config
(its validated model as JSON, with this replica's draws of uncertain inputs), the
contents of the trace and series files it names, the seed, the replica number, and
the code version (the sources of sim/ and kernels/ and the NumPy and SimPy versions).
A changed config or code gives new keys, so a stale entry is never read.

Entries are plain arrays read with pickle disabled: loading a folder that someone else
wrote never executes code. Each entry is written to a temporary file and renamed into
place, so a killed process leaves no half-written entry; an unreadable entry counts as
missing. A run that completes removes its result's cache folder: entries exist only to
resume an interrupted run.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from ..config.loading import FILE_KEYS
from ..engine.records import RunResult

ROOT = Path(__file__).resolve().parents[2]   # the folder holding sim/ and kernels/


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    import simpy
    h = hashlib.sha256(f"numpy {np.__version__} simpy {simpy.__version__}".encode())
    for package in ("sim", "kernels"):
        for path in sorted((ROOT / package).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _input_files(node, out: list[str]) -> list[str]:
    """Paths of the trace and series files a resolved config reads."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in FILE_KEYS and isinstance(value, dict) and isinstance(value.get("path"), str):
                out.append(value["path"])
            _input_files(value, out)
    elif isinstance(node, list):
        for value in node:
            _input_files(value, out)
    return out


def config_digest(config: dict) -> str:
    """Digest of a resolved config (model_dump in JSON mode) and the files it reads."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for path in sorted(set(_input_files(config, []))):
        try:
            st = os.stat(path)
            h.update(f"{path}\0{_file_digest(path, st.st_mtime_ns, st.st_size)}\0".encode())
        except OSError:
            h.update(f"{path}\0missing\0".encode())
    return h.hexdigest()


def replica_key(config_digest_: str, seed: int, replica: int) -> str:
    text = f"{config_digest_}\0{seed}\0{replica}\0{code_version()}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


# ---------------------------------------------------------------- RunResult <-> plain arrays

def pack(run: RunResult) -> dict[str, np.ndarray]:
    out = {}
    for f in dataclasses.fields(RunResult):
        value = getattr(run, f.name)
        if isinstance(value, dict):
            out.update({f"{f.name}/{k}": np.asarray(a) for k, a in value.items()})
        else:
            out[f.name] = np.asarray(value)
    return out


def unpack(arrays: dict[str, np.ndarray]) -> RunResult:
    kwargs = {}
    for f in dataclasses.fields(RunResult):
        if str(f.type).startswith("dict"):
            prefix = f"{f.name}/"
            kwargs[f.name] = {k[len(prefix):]: a for k, a in arrays.items() if k.startswith(prefix)}
        else:
            a = arrays[f.name]
            kwargs[f.name] = a.item() if a.ndim == 0 else a
    return RunResult(**kwargs)


def entry_digest(key: str, arrays: dict[str, np.ndarray]) -> str:
    """Digest of an entry's key and every array (name, dtype, shape, bytes): an entry whose
    stored key or any value was changed no longer matches it."""
    h = hashlib.sha256(key.encode() + b"\0")
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------- the cache folder

def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class ReplicaCache:
    """Finished replicas of one result, keyed as above. `folder` None: keep nothing."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def has(self, key: str) -> bool:
        return self.enabled and self._path(key).is_file()

    def load(self, key: str) -> RunResult | None:
        """The stored replica, or None when missing or unreadable."""
        if not self.has(key):
            return None
        try:
            with np.load(self._path(key), allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            stored_key, digest = str(arrays.pop("__key__")), str(arrays.pop("__digest__"))
        except Exception:  # truncated, foreign or from another layout: simulate again
            return None
        if stored_key != key or digest != entry_digest(key, arrays):
            if not self._warned:
                self._warned = True
                print(f"warning: {self._path(key)}: cached replica does not match its digest; simulating it "
                      f"again", file=sys.stderr)
            return None
        try:
            return unpack(arrays)
        except Exception:
            return None

    def save(self, key: str, run: RunResult) -> None:
        if not self.enabled:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                arrays = pack(run)
                np.savez(f, __key__=np.asarray(key), __digest__=np.asarray(entry_digest(key, arrays)), **arrays)
            os.replace(tmp, self._path(key))
        finally:
            tmp.unlink(missing_ok=True)

    def sweep_stale(self) -> None:
        """Remove temporary files left by processes that were killed while writing."""
        if not self.enabled or not self.folder.is_dir():
            return
        for tmp in self.folder.glob(".*.tmp-*"):
            pid = tmp.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not pid_alive(int(pid)):
                tmp.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove this result's entries, and the cache root if nothing else is in it."""
        if not self.enabled:
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.folder.parent.rmdir()
        except OSError:
            pass
