"""One-file storage of named arrays plus JSON metadata: an uncompressed ``.npz``, saved atomically.

The zip container checks a CRC of every array, so a truncated or corrupted file fails to read
instead of loading wrong numbers; every failure is reported as a ``ValueError`` naming the file.
Before any array is loaded, the size each array header declares is checked against the bytes the
file really holds (arrays are stored uncompressed, so they must match), so a forged header
claiming 10^12 elements is refused at once instead of being allocated; the total is then checked
against the memory available. Messages never quote the file's bytes.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from diffusion._io import atomic_write
from diffusion._memory import check_fits

MAGIC = "diffusion-population"
"""Marks files written here, so an unrelated ``.npz`` is refused by name."""

_META = "__meta__"


def write(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and ``meta`` to ``path`` via a temporary file in the same folder."""
    path = Path(path)
    header = json.dumps({"magic": MAGIC, **meta}).encode()
    atomic_write(
        path, lambda handle: np.savez(handle, **{_META: np.frombuffer(header, np.uint8)}, **arrays)
    )


def read(
    path: str | Path, dtypes: dict[str, np.dtype]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read the arrays named in ``dtypes`` (checking each dtype) and the metadata."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no population file at {path}")
    try:
        _check_declared_sizes(path)
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(archive[_META].tobytes().decode())
            if not isinstance(meta, dict) or meta.get("magic") != MAGIC:
                raise ValueError("not written by diffusion's Population.save")
            missing = sorted(set(dtypes) - set(archive.files))
            if missing:
                raise ValueError(f"missing arrays {missing}")
            arrays = {name: archive[name] for name in dtypes}
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable population file ({_reason(error)})") from None
    for name, dtype in dtypes.items():
        if arrays[name].dtype != dtype or arrays[name].ndim != 1:
            raise ValueError(
                f"{path}: array {name} is {arrays[name].dtype} with shape {arrays[name].shape}, "
                f"expected a 1-D {dtype} array"
            )
    return arrays, meta


def _check_declared_sizes(path: Path) -> None:
    """Refuse arrays whose header claims more data than the file stores, before loading any.

    Every member must be stored uncompressed (as ``write`` does), hold a ``.npy`` header, and
    declare exactly as many bytes as follow that header; the sum must fit in memory.
    """
    total = 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            if member.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"array {member.filename} is compressed (files are written plain)")
            with archive.open(member) as handle:
                shape, dtype = _array_header(handle, member.filename)
                if dtype.hasobject:
                    raise ValueError(f"array {member.filename} holds Python objects")
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if declared != member.file_size - handle.tell():
                    raise ValueError(
                        f"array {member.filename} declares {declared} bytes but the file holds "
                        f"{member.file_size - handle.tell()}"
                    )
            total += declared
    check_fits(total, f"the population file {path.name}")


def _array_header(handle, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a ``.npy`` header (the header's text is never quoted)."""
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    try:
        version = np.lib.format.read_magic(handle)
        shape, _, dtype = readers[version](handle, max_header_size=10_000)
    except (KeyError, ValueError, SyntaxError, TypeError):
        raise ValueError(f"array {name} has no valid .npy header") from None
    return shape, dtype


def _reason(error: BaseException) -> str:
    """A short description of a read error that quotes nothing from the file."""
    if isinstance(error, zipfile.BadZipFile | EOFError):
        return "not a complete zip archive"
    if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
        return "unreadable metadata"
    text = str(error)
    return text if len(text) <= 200 and text.isprintable() else type(error).__name__
