"""Bounded reading of untrusted ``.npz`` archives (a zip of ``.npy`` members, no pickle).

A weights file is untrusted input: a zip can declare a member that inflates to gigabytes, an
``.npy`` header can declare a 2e6 x 2e6 array, and a flipped byte can make zlib or numpy
raise their own errors.  This module does the cheap checks first, in this order, and never
inflates or allocates more than the caller said it expects:

1. the zip directory: every member must be ``<name>.npy`` for an expected name (unknown,
   duplicate or missing members are refused), stored or deflated, with a declared size equal
   to an ``.npy`` header plus the expected array's bytes;
2. each member's ``.npy`` header (at most ``MAX_HEADER`` bytes read): version, dtype (no
   object dtypes), order and shape must be the expected ones;
3. only then the data: exactly the expected bytes are read (the zip stream stops at the
   declared size; the CRC is checked), into a fresh array.

Any damage (a truncated file, a flipped byte, a bad CRC) raises the caller's error class
(``CorruptFileError`` by default), never ``zlib.error``, ``NotImplementedError`` or
``BadZipFile``; ``PermissionError`` and ``FileNotFoundError`` pass through as themselves.

Public API (for ``Model.load_weights`` and whole-model loading):

``read_npz(path, expected, *, error=CorruptFileError, what="load") -> dict[str, ndarray]``
    ``expected``: ``{name: (shape, dtype)}``; returns ``{name: array}`` with exactly those
    names, shapes and dtypes, or raises ``error`` naming the member and the problem.
``read_member(zf, member, max_bytes, *, error=CorruptFileError, what="load") -> bytes``
    A non-array member (e.g. a JSON config) of an open ``zipfile.ZipFile``, refused if its
    declared size exceeds ``max_bytes``.
``open_zip(path, *, error=CorruptFileError, what="load")``
    A context manager giving the open ``zipfile.ZipFile`` (damage -> ``error``).
``write_npz(fileobj, arrays)``
    Write ``{name: array}`` as an ``.npz`` that ``np.load`` reads; names are data, so a
    weight called ``file`` or ``allow_pickle`` is stored like any other.
``atomic_write(path, write, *, prefix=".tmp-")``
    ``write(fileobj)`` into a temporary file beside ``path``, flushed, given the existing
    file's permission bits (a new file: the user's umask), synced, then renamed onto
    ``path``: a reader never sees a half-written file, and a failure leaves no temporary.
"""
from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import threading
import zipfile
import zlib
from typing import Any, Iterator, Mapping, Union

import numpy as np

from autograd.errors import AutogradError

__all__ = ["CorruptFileError", "read_npz", "read_member", "open_zip", "write_npz", "atomic_write",
           "MAX_HEADER"]

#: Largest ``.npy`` header accepted (numpy writes 128 bytes for ordinary arrays).
MAX_HEADER = 65536
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError,
           struct.error, KeyError, UnicodeDecodeError, SyntaxError, TypeError, OverflowError,
           RuntimeError)


class CorruptFileError(AutogradError, ValueError):
    """A file that is damaged, or not what it claims to be (a ValueError)."""


@contextlib.contextmanager
def open_zip(path: Union[str, os.PathLike], *, error: type = CorruptFileError,
             what: str = "load") -> Iterator[zipfile.ZipFile]:
    """The open zip archive at ``path``; damage raises ``error``; OS errors pass through."""
    path = os.fspath(path)
    f = open(path, "rb")         # PermissionError / FileNotFoundError: as themselves
    try:
        try:
            zf = zipfile.ZipFile(f)
        except _DAMAGE as e:
            raise error(f"{what}: {path} is not a valid .npz/zip file ({type(e).__name__}: "
                        f"{e})") from None
        with zf:
            yield zf
    finally:
        f.close()


def _npy_name(member: str) -> str:
    return member[:-4] if member.endswith(".npy") else member


def _check_directory(zf: zipfile.ZipFile, expected: Mapping[str, Any], error: type,
                     what: str, path: str) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = _npy_name(info.filename)
        if not info.filename.endswith(".npy") or name not in expected:
            shown = name if info.filename.endswith(".npy") else info.filename
            raise error(f"{what}: {path} holds {shown!r}, which the model does not have "
                        f"(expected: {sorted(expected)})")
        if name in infos:
            raise error(f"{what}: {path} holds {info.filename!r} twice")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise error(f"{what}: {path}: member {info.filename!r} uses an unsupported "
                        f"compression (method {info.compress_type})")
        infos[name] = info
    missing = [k for k in expected if k not in infos]
    if missing:
        raise error(f"{what}: parameter {missing[0]!r} is missing from {path} "
                    f"(missing: {missing})")
    return infos


def _read_header(m, info: zipfile.ZipInfo, error: type, what: str):
    fmt = np.lib.format
    version = fmt.read_magic(m)
    if version == (1, 0):
        return fmt.read_array_header_1_0(m, max_header_size=MAX_HEADER)
    if version in ((2, 0), (3, 0)):
        return fmt.read_array_header_2_0(m, max_header_size=MAX_HEADER)
    raise error(f"{what}: member {info.filename!r} has .npy version {version}")


def _read_array(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple, dtype: np.dtype,
                error: type, what: str, path: str) -> np.ndarray:
    name = _npy_name(info.filename)
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize if shape else dtype.itemsize
    # declared size: a header (<= MAX_HEADER + preamble) plus exactly the array's bytes
    if not nbytes <= info.file_size <= nbytes + MAX_HEADER + 16:
        raise error(f"{what}: {path}: member {info.filename!r} declares {info.file_size:,} "
                    f"bytes; parameter {name!r} of shape {shape} and dtype {dtype} needs "
                    f"{nbytes:,} plus a header")
    with zf.open(info) as m:
        got_shape, fortran, got_dtype = _read_header(m, info, error, what)
        if got_dtype.hasobject:
            raise error(f"{what}: {path}: {name!r} holds Python objects (needs pickle); refused")
        if tuple(got_shape) != tuple(shape):
            raise error(f"{what}: parameter {name!r} has shape {tuple(shape)} in the model but "
                        f"{tuple(got_shape)} in {path}")
        if got_dtype != dtype:
            raise error(f"{what}: parameter {name!r} has dtype {dtype} in the model but "
                        f"{got_dtype} in {path}")
        if m.tell() + nbytes != info.file_size:
            raise error(f"{what}: {path}: member {info.filename!r} has "
                        f"{info.file_size - m.tell():,} data bytes, {nbytes:,} expected")
        arr = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        buf = memoryview(arr.reshape(-1, order="A").view(np.uint8)) if nbytes else None
        at = 0
        while at < nbytes:
            k = m.readinto(buf[at:])
            if not k:
                raise error(f"{what}: {path}: member {info.filename!r} ends after {at:,} of "
                            f"{nbytes:,} data bytes")
            at += k
        if m.read(1):
            raise error(f"{what}: {path}: member {info.filename!r} has data past the array")
    return np.ascontiguousarray(arr)


def read_npz(path: Union[str, os.PathLike], expected: Mapping[str, tuple], *,
             error: type = CorruptFileError, what: str = "load") -> dict[str, np.ndarray]:
    """``{name: array}`` from the ``.npz`` at ``path``, exactly the ``expected`` members.

    expected : ``{name: (shape, dtype)}``: the only members accepted, and their shapes and
               dtypes (checked from the zip directory and the ``.npy`` headers before any
               data is inflated; at most the expected bytes are ever read per member).
    error    : the exception class raised for a damaged or mismatched file.
    """
    path = os.fspath(path)
    want = {k: (tuple(int(d) for d in s), np.dtype(dt)) for k, (s, dt) in expected.items()}
    with open_zip(path, error=error, what=what) as zf:
        try:
            infos = _check_directory(zf, want, error, what, path)
            return {name: _read_array(zf, infos[name], *want[name], error, what, path)
                    for name in want}
        except error:
            raise
        except (PermissionError, FileNotFoundError):
            raise
        except _DAMAGE + (OSError,) as e:
            raise error(f"{what}: {path} is damaged ({type(e).__name__}: {e})") from None


def read_member(zf: zipfile.ZipFile, member: str, max_bytes: int, *,
                error: type = CorruptFileError, what: str = "load") -> bytes:
    """The bytes of a non-array member, refused when it declares more than ``max_bytes``."""
    try:
        info = zf.getinfo(member)
    except KeyError:
        raise error(f"{what}: the archive has no member {member!r}") from None
    if info.file_size > max_bytes:
        raise error(f"{what}: member {member!r} declares {info.file_size:,} bytes, more than "
                    f"the {max_bytes:,} allowed")
    try:
        with zf.open(info) as m:
            data = m.read(max_bytes + 1)
    except _DAMAGE + (OSError,) as e:
        if isinstance(e, PermissionError):
            raise
        raise error(f"{what}: member {member!r} is damaged ({type(e).__name__}: {e})") from None
    if len(data) > max_bytes:
        raise error(f"{what}: member {member!r} holds more than {max_bytes:,} bytes")
    return data


def write_npz(fileobj: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """``arrays`` as an uncompressed ``.npz`` (``np.load`` reads it; no pickle).  Names are
    data: any string works as a name, ``file`` and ``allow_pickle`` included."""
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            arr = np.asanyarray(arr)
            with zf.open(f"{name}.npy", "w", force_zip64=arr.nbytes > 2**30) as m:
                np.lib.format.write_array(m, arr, allow_pickle=False)


def file_mode(path: Union[str, os.PathLike]) -> int:
    """Permission bits for a file written at ``path``: the existing file's, else 0o666
    minus the process umask (what ``open()`` would give)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    with _UMASK_LOCK:
        um = os.umask(0)
        os.umask(um)
    return 0o666 & ~um


_UMASK_LOCK = threading.Lock()


def atomic_write(path: Union[str, os.PathLike], write: Any, *, prefix: str = ".tmp-") -> None:
    """``write(fileobj)`` to a temporary file in ``path``'s folder, then ``os.replace`` it onto
    ``path`` (see the module docstring)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path)) or "."
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
