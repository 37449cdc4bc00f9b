"""One-file storage of named arrays plus JSON metadata: an uncompressed ``.npz``, saved atomically.

The zip container checks a CRC of every array, so a truncated or corrupted file fails to read
instead of loading wrong numbers; every failure is reported as a ``ValueError`` naming the file.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = "diffusion-population"
"""Marks files written here, so an unrelated ``.npz`` is refused by name."""

_META = "__meta__"


def write(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and ``meta`` to ``path`` via a temporary file in the same folder."""
    path = Path(path)
    header = json.dumps({"magic": MAGIC, **meta}).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **{_META: np.frombuffer(header, dtype=np.uint8)}, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read(
    path: str | Path, dtypes: dict[str, np.dtype]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read the arrays named in ``dtypes`` (checking each dtype) and the metadata."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no population file at {path}")
    try:
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
        raise ValueError(f"{path}: not a readable population file ({error})") from error
    for name, dtype in dtypes.items():
        if arrays[name].dtype != dtype or arrays[name].ndim != 1:
            raise ValueError(
                f"{path}: array {name} is {arrays[name].dtype} with shape {arrays[name].shape}, "
                f"expected a 1-D {dtype} array"
            )
    return arrays, meta
