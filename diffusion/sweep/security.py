"""Who can reach a sweep: TLS for batch clusters and for ``--scheduler tls://``.

A Dask scheduler runs the pickled Python that any connected client sends, on every worker, as
the user. A local cluster therefore listens on 127.0.0.1 only (``clusters.open_client``). The
scheduler of a batch cluster must listen on the network for the jobs to reach it, so by default
it speaks TLS with mutual authentication: ``batch_credentials`` makes a fresh self-signed
certificate and key for the sweep (``distributed.Security.temporary``, what dask-jobqueue's
``security=True`` makes), writes them owner-only into a private folder of ``[cluster]
shared_temp_directory``, where the jobs read them, and removes them when the sweep ends.
dask-jobqueue's ``security=True`` would write the same files, but removes them only when the
garbage collector closes its file handles; here their folder, modes and removal are explicit.

``--scheduler tls://`` connects with the CA, certificate and key that ``[cluster]`` names, each
checked first with an error naming the field (``scheduler_security``). Only the files' paths are
ever shown, logged or stored (in the job scripts and the resolved config), never their content.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from distributed.security import Security

from diffusion._text import short_repr
from diffusion.config import ConfigError
from diffusion.sweep.config import TLS_FILES, ClusterConfig

log = logging.getLogger(__name__)

SCHEMES: tuple[str, ...] = ("tcp", "tls")
"""The address schemes of ``--scheduler``."""
MAX_PEM_BYTES = 1 << 20
"""Largest certificate or key file read (a PEM file is a few kilobytes)."""
INSECURE = (
    "warning: cluster.security = false: the sweep's scheduler listens on this machine's network "
    "in plain TCP without authentication; anyone who can reach its port can run code as you "
    "on the jobs' nodes"
)
"""The warning of a batch cluster without TLS, logged when it starts."""


def scheduler_security(settings: ClusterConfig, address: str) -> Security | None:
    """How to connect to an existing scheduler at ``address``: ``tcp://`` in plain TCP (None),
    ``tls://`` with the ``[cluster]`` TLS files, checked first (see ``check_tls_files``).

    Raises ``ValueError`` for an address of another form, and when the address and the config
    disagree (TLS files named for a ``tcp://`` address, or none for ``tls://``).
    """
    scheme, sep, rest = address.partition("://")
    if not sep or scheme not in SCHEMES or not rest:
        raise ValueError(
            f"--scheduler: {short_repr(address)} is not tcp://HOST:PORT or tls://HOST:PORT"
        )
    named = settings.tls_cert is not None
    if scheme == "tcp":
        if named:
            raise ValueError(
                "--scheduler: [cluster] names TLS files (tls_cert, ...) but the address is plain "
                "tcp://; give the scheduler's tls:// address"
            )
        return None
    if not named:
        raise ValueError(
            "--scheduler: a tls:// scheduler needs [cluster] tls_ca_file, tls_cert and tls_key"
        )
    check_tls_files(settings)
    return Security(
        require_encryption=True,
        tls_ca_file=str(settings.tls_ca_file),
        tls_client_cert=str(settings.tls_cert),
        tls_client_key=str(settings.tls_key),
    )


def check_tls_files(settings: ClusterConfig) -> None:
    """Raise ``ConfigError`` naming each ``[cluster]`` TLS file that cannot serve: missing,
    unreadable, not PEM, a key that others may read or that is encrypted, an expired
    certificate, or a certificate that is not the key's. No file's content is ever quoted."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    problems: list[str] = []

    def read(field: str, path: Path) -> bytes | None:
        where = f"cluster.{field}"
        try:
            mode = path.stat().st_mode
            if not path.is_file():
                problems.append(f"{where}: {path} is not a file")
                return None
            if field == "tls_key" and mode & 0o077:
                problems.append(
                    f"{where}: {path} may be read by other users (mode {mode & 0o777:04o}); "
                    f"make it owner-only: chmod 600 {path}"
                )
                return None
            with open(path, "rb") as handle:
                return handle.read(MAX_PEM_BYTES)
        except FileNotFoundError:
            problems.append(f"{where}: no such file: {path}")
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            reason = getattr(exc, "strerror", None) or exc
            problems.append(f"{where}: cannot read {short_repr(str(path))} ({reason})")
        return None

    ca, cert, key = (read(field, getattr(settings, field)) for field in TLS_FILES)
    if ca is not None:
        try:
            x509.load_pem_x509_certificates(ca)
        except ValueError:
            problems.append(f"cluster.tls_ca_file: {settings.tls_ca_file} holds no PEM certificate")
    certificate = None
    if cert is not None:
        try:
            certificate = x509.load_pem_x509_certificate(cert)
        except ValueError:
            problems.append(f"cluster.tls_cert: {settings.tls_cert} holds no PEM certificate")
    if certificate is not None and certificate.not_valid_after_utc < datetime.now(UTC):
        problems.append(
            f"cluster.tls_cert: {settings.tls_cert} expired on "
            f"{certificate.not_valid_after_utc:%Y-%m-%d}"
        )
    private = None
    if key is not None:
        try:
            private = serialization.load_pem_private_key(key, password=None)
        except TypeError:
            problems.append(
                f"cluster.tls_key: {settings.tls_key} is encrypted; Dask needs an unencrypted "
                "key file (owner-only)"
            )
        except (ValueError, UnsupportedAlgorithm):
            problems.append(f"cluster.tls_key: {settings.tls_key} holds no PEM private key")
    if certificate is not None and private is not None:
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if certificate.public_key().public_bytes(*spki) != private.public_key().public_bytes(*spki):
            problems.append(
                f"cluster.tls_key: {settings.tls_key} is not the key of the certificate "
                f"{settings.tls_cert} (cluster.tls_cert)"
            )
    if problems:
        raise ConfigError(problems)


def shared_folder(settings: ClusterConfig) -> Path:
    """The folder where a batch cluster's credentials go (``shared_temp_directory``, else the
    home folder); ``ConfigError`` when it is not an existing folder."""
    folder = settings.shared_temp_directory or Path.home()
    if not folder.is_dir():
        raise ConfigError([f"cluster.shared_temp_directory: {folder} is not an existing folder"])
    return folder


@contextmanager
def batch_credentials(settings: ClusterConfig) -> Iterator[Security | None]:
    """The TLS credentials of a batch cluster while it runs, or None (with a logged warning)
    when ``[cluster] security = false``.

    A new folder ``.diffusion-tls-*`` (mode 0700) in ``shared_folder`` holds ``cert.pem``, the
    self-signed certificate that is also the only trusted CA, and ``key.pem``, its key (both
    0600); the scheduler, this client and every worker authenticate with them, and the folder
    is removed at the end. A process killed outright leaves it behind, owner-only, with the
    credentials of a scheduler that no longer runs.
    """
    if not settings.security:
        log.warning(INSECURE)
        yield None
        return
    folder = shared_folder(settings)
    try:
        private = Path(tempfile.mkdtemp(prefix=".diffusion-tls-", dir=folder))  # mode 0700
    except OSError as exc:
        raise ConfigError(
            [f"cluster.shared_temp_directory: cannot write in {folder} ({exc.strerror or exc})"]
        ) from None
    try:
        made = Security.temporary()
        cert = _write_owner_only(private / "cert.pem", made.tls_worker_cert)
        key = _write_owner_only(private / "key.pem", made.tls_worker_key)
        roles = ("client", "scheduler", "worker")
        yield Security(
            require_encryption=True,
            tls_ca_file=cert,
            **{f"tls_{role}_cert": cert for role in roles},
            **{f"tls_{role}_key": key for role in roles},
        )
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _write_owner_only(path: Path, text: str) -> str:
    """Write a new file readable and writable by its owner only (0600); return its path."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return str(path)
