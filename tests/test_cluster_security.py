"""Who can reach a sweep (issue 16), with real sockets, real certificates and real Dask processes:
a local sweep listens on loopback only; ``--scheduler tls://`` runs a sweep on a real TLS
scheduler with the ``[cluster]`` files, checked first with errors naming the field; a batch
cluster's credentials are owner-only and gone after it; no key reaches the results.

The certificates are made here with ``cryptography`` (a throwaway CA, and certificates it signs).
Batch jobs on a real SLURM, in TLS, are tested in ``test_slurm.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import psutil
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from distributed import Client, LocalCluster
from distributed.security import Security
from test_sweep import finished_points, read, serial_summaries, slow_config, wait_for, write_config

from diffusion.cli import main
from diffusion.config import ConfigError, load_config
from diffusion.sweep.clusters import jobqueue_cluster
from diffusion.sweep.config import ClusterConfig
from diffusion.sweep.security import batch_credentials

LOOPBACK = {"127.0.0.1", "::1"}


# ---------------------------------------------------------------------------------- certificates
class Authority:
    """A throwaway certificate authority that issues certificate and key files."""

    def __init__(self, folder: Path, name: str = "ca") -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test {name}")])
        self.cert = self._build(self.name, self.key.public_key(), ca=True)
        self.path = folder / f"{name}.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def _build(self, subject, public_key, ca: bool = False, days: int = 30) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def issue(self, name: str, days: int = 30, password: bytes | None = None) -> tuple[Path, Path]:
        """A certificate signed by this authority, and its key (mode 0600): their paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = self._build(subject, key.public_key(), days=days)
        cert_path, key_path = self.folder / f"{name}.crt", self.folder / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        encryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        key_path.touch(mode=0o600)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            )
        )
        return cert_path, key_path


def tls_section(ca: Path, cert: Path, key: Path) -> str:
    return f'\n[cluster]\ntls_ca_file = "{ca}"\ntls_cert = "{cert}"\ntls_key = "{key}"\n'


def with_section(config: Path, section: str) -> Path:
    with open(config, "a") as handle:
        handle.write(section)
    return config


def sweep(config: Path, out: Path, *options: str):
    return CliRunner().invoke(main, ["sweep", str(config), "--out", str(out), *options])


# ---------------------------------------------------------------------------------- [cluster]
def test_tls_files_go_together_and_relative_paths_are_from_the_config_folder(tmp_path) -> None:
    config = with_section(write_config(tmp_path), '\n[cluster]\ntls_cert = "me.crt"\n')
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert error.value.lines == [
        "cluster.tls_ca_file: required with tls_cert "
        "(a tls:// scheduler needs tls_ca_file, tls_cert and tls_key)"
    ]
    config = with_section(write_config(tmp_path), tls_section("ca.pem", "me.crt", "~/me.key"))
    cluster = load_config(config).cluster
    assert cluster.tls_cert == tmp_path.resolve() / "me.crt"
    assert cluster.tls_key == Path.home() / "me.key"
    assert cluster.security is True  # batch jobs use TLS unless told otherwise
    text = '\n[cluster]\nsecurity = "no"\n'
    with pytest.raises(ConfigError, match="cluster.security: 'no' is not true or false"):
        load_config(with_section(write_config(tmp_path), text))


@pytest.fixture
def authority(tmp_path) -> Authority:
    folder = tmp_path / "pki"
    folder.mkdir()
    return Authority(folder)


def test_each_unusable_tls_file_is_named_without_quoting_it(tmp_path, authority) -> None:
    """Every problem of the ``[cluster]`` TLS files, one line each, before any work."""
    cert, key = authority.issue("client")
    _, other_key = authority.issue("other")
    expired, expired_key = authority.issue("old", days=-1)
    locked_cert, locked = authority.issue("locked", password=b"secret")
    garbage = tmp_path / "pki" / "notes.txt"
    garbage.write_text("not a certificate\n")
    open_key = tmp_path / "pki" / "open.key"
    open_key.write_bytes(key.read_bytes())
    open_key.chmod(0o644)
    cases = [
        ((tmp_path / "nope.pem", cert, key), "cluster.tls_ca_file: no such file: "),
        ((garbage, cert, key), "cluster.tls_ca_file: " + f"{garbage} holds no PEM certificate"),
        ((authority.path, garbage, key), f"cluster.tls_cert: {garbage} holds no PEM certificate"),
        ((authority.path, expired, expired_key), f"cluster.tls_cert: {expired} expired on "),
        ((authority.path, cert, tmp_path), f"cluster.tls_key: {tmp_path} is not a file"),
        (
            (authority.path, cert, open_key),
            f"cluster.tls_key: {open_key} may be read by other users (mode 0644); "
            f"make it owner-only: chmod 600 {open_key}",
        ),
        ((authority.path, locked_cert, locked), f"cluster.tls_key: {locked} is encrypted"),
        (
            (authority.path, cert, other_key),
            f"cluster.tls_key: {other_key} is not the key of the certificate {cert} "
            "(cluster.tls_cert)",
        ),
    ]
    for number, (files, message) in enumerate(cases):
        config = with_section(write_config(tmp_path, f"c{number}.toml"), tls_section(*files))
        out = tmp_path / f"out{number}"
        result = sweep(config, out, "--scheduler", "tls://127.0.0.1:1")
        assert result.exit_code == 2, (message, result.output)
        assert message in result.stderr, (message, result.stderr)
        assert "BEGIN" not in result.output and "not a certificate" not in result.output
        assert not out.exists()  # checked before any work
    garbage.chmod(0o600)
    config = with_section(write_config(tmp_path, "g.toml"), tls_section(garbage, cert, garbage))
    result = sweep(config, tmp_path / "g", "--scheduler", "tls://127.0.0.1:1")
    assert result.exit_code == 2
    assert f"cluster.tls_key: {garbage} holds no PEM private key" in result.stderr
    assert "cluster.tls_ca_file: " in result.stderr  # every problem, one line each


def test_scheduler_addresses_are_tcp_or_tls_with_their_files(tmp_path, authority) -> None:
    cert, key = authority.issue("client")
    plain = write_config(tmp_path, "plain.toml")
    with_tls = with_section(
        write_config(tmp_path, "tls.toml"), tls_section(authority.path, cert, key)
    )
    cases = [
        (plain, "udp://127.0.0.1:1", "--scheduler: 'udp://127.0.0.1:1' is not tcp://HOST:PORT"),
        (plain, "127.0.0.1:8786", "--scheduler: '127.0.0.1:8786' is not tcp://HOST:PORT"),
        (plain, "tls://127.0.0.1:1", "a tls:// scheduler needs [cluster] tls_ca_file, tls_cert"),
        (with_tls, "tcp://127.0.0.1:1", "[cluster] names TLS files (tls_cert, ...) but the addr"),
    ]
    for config, address, message in cases:
        result = sweep(config, tmp_path / "o", "--scheduler", address)
        assert result.exit_code == 2 and message in result.stderr, result.output


# ---------------------------------------------------------------------------------- TLS scheduler
def dask_command(*args: str, log) -> subprocess.Popen:
    module = "distributed.cli.dask_" + args[0]
    return subprocess.Popen(
        [sys.executable, "-m", module, *args[1:]], stdout=log, stderr=subprocess.STDOUT
    )


@contextmanager
def tls_scheduler(folder: Path, authority: Authority) -> Iterator[str]:
    """A real ``dask scheduler`` in TLS (client certificates required) on 127.0.0.1 and one
    ``dask worker``, each with its own certificate from ``authority``; yields the address."""
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "w")  # noqa: SIM115 - closed below
    s_cert, s_key = authority.issue("scheduler")
    w_cert, w_key = authority.issue("worker")
    procs = [
        dask_command(
            "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", "0",
            "--no-dashboard", "--scheduler-file", str(scheduler_file),
            "--tls-ca-file", str(authority.path), "--tls-cert", str(s_cert),
            "--tls-key", str(s_key), log=log,
        )
    ]  # fmt: skip
    try:
        wait_for(scheduler_file.exists, what="the scheduler file")
        wait_for(lambda: "address" in scheduler_file.read_text(), what="the scheduler address")
        address = json.loads(scheduler_file.read_text())["address"]
        procs.append(
            dask_command(
                "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                "--host", "127.0.0.1", "--tls-ca-file", str(authority.path),
                "--tls-cert", str(w_cert), "--tls-key", str(w_key), log=log,
            )
        )  # fmt: skip
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_a_sweep_runs_on_a_tls_scheduler_that_refuses_plain_and_strangers(
    tmp_path, authority
) -> None:
    cert, key = authority.issue("client")
    config = with_section(write_config(tmp_path), tls_section(authority.path, cert, key))
    with tls_scheduler(tmp_path, authority) as address:
        assert address.startswith("tls://127.0.0.1:")
        result = sweep(config, tmp_path / "out", "--scheduler", address, "--quiet")
        assert result.exit_code == 0, result.output
        # plain TCP: the scheduler's TLS handshake fails, the client gives up
        start = time.monotonic()
        with pytest.raises(OSError):
            Client(address.replace("tls://", "tcp://"), timeout="3s")
        assert time.monotonic() - start < 20
        # TLS with a certificate from another authority: the scheduler refuses it
        stranger = Authority(tmp_path / "pki", "stranger")
        s_cert, s_key = stranger.issue("stranger")
        other = Security(
            require_encryption=True,
            tls_ca_file=str(authority.path),
            tls_client_cert=str(s_cert),
            tls_client_key=str(s_key),
        )
        with pytest.raises(OSError):
            Client(address, security=other, timeout="3s")
    pd.testing.assert_frame_equal(read(tmp_path / "out"), serial_summaries(config))


# ---------------------------------------------------------------------------------- local sweeps
def listening(process: psutil.Process) -> set[tuple[str, int]]:
    """The addresses that ``process`` and its descendants listen on (TCP and UDP), from the OS."""
    found = set()
    for proc in [process, *process.children(recursive=True)]:
        try:
            connections = proc.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        for conn in connections:
            if conn.status == psutil.CONN_LISTEN or conn.type == socket.SOCK_DGRAM:
                found.add((conn.laddr.ip, conn.laddr.port))
    return found


def test_a_local_sweep_listens_on_loopback_only_and_shows_its_dashboard(tmp_path) -> None:
    config = slow_config(tmp_path, replicates=300)
    out = tmp_path / "out"
    code = "from diffusion.cli import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "sweep", str(config), "--out", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[tuple[str, int]] = set()
    try:
        parent = psutil.Process(process.pid)
        wait_for(lambda: finished_points(out), timeout=120, what="the first point file")
        while process.poll() is None and len(finished_points(out)) < 20:
            seen |= listening(parent)
            time.sleep(0.2)
    finally:
        stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert seen and {ip for ip, _ in seen} <= LOOPBACK, seen
    # scheduler, dashboard, and per worker its nanny, the worker and its HTTP endpoint
    assert len(seen) >= 2 + 2 * 3, seen
    link = re.search(r"dashboard on http://127\.0\.0\.1:(\d+)/status", stdout)
    assert link, stdout
    assert ("127.0.0.1", int(link[1])) in seen


# ---------------------------------------------------------------------------------- batch jobs
def test_batch_credentials_are_owner_only_work_and_are_removed(tmp_path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    settings = ClusterConfig(type="slurm", memory="1GB", shared_temp_directory=shared)
    with batch_credentials(settings) as security:
        (private,) = shared.iterdir()
        assert private.name.startswith(".diffusion-tls-")
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        files = sorted(private.iterdir())
        assert [f.name for f in files] == ["cert.pem", "key.pem"]
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
        assert security.require_encryption
        worker = security.get_tls_config_for_role("worker")
        assert worker == {
            "ca_file": str(private / "cert.pem"),
            "ciphers": None,
            "cert": str(private / "cert.pem"),
            "key": str(private / "key.pem"),
        }
        assert "BEGIN" not in repr(security)  # paths, never the key
        with (
            LocalCluster(
                n_workers=1, processes=False, protocol="tls://", host="127.0.0.1",
                security=security, dashboard_address="127.0.0.1:0",
            ) as cluster,
            Client(cluster) as client,
        ):  # fmt: skip
            assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
            assert client.submit(sum, [1, 2]).result() == 3
        with jobqueue_cluster(settings, security=security) as jobs:
            script = jobs.job_script()
        assert "--protocol tls://" in script
        assert f"--tls-ca-file {private / 'cert.pem'}" in script
        assert f"--tls-key {private / 'key.pem'}" in script
        assert "--dashboard-address 127.0.0.1:0" in script and "BEGIN" not in script
    assert list(shared.iterdir()) == []


def test_batch_jobs_without_tls_are_a_warned_choice(tmp_path, caplog) -> None:
    settings = ClusterConfig(type="slurm", memory="1GB", security=False)
    with caplog.at_level(logging.WARNING), batch_credentials(settings) as security:
        assert security is None
    assert "cluster.security = false" in caplog.text and "plain TCP" in caplog.text
    missing = ClusterConfig(type="pbs", memory="1GB", shared_temp_directory=tmp_path / "no")
    with pytest.raises(ConfigError, match="cluster.shared_temp_directory: .* is not an existing"):
        with batch_credentials(missing):
            pass


# ---------------------------------------------------------------------------------- results
def test_results_carry_tls_paths_never_their_content(tmp_path, authority) -> None:
    cert, key = authority.issue("client")
    secret = key.read_text()
    config = with_section(write_config(tmp_path), tls_section(authority.path, cert, key))
    result = CliRunner().invoke(main, ["run", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    for table in (tmp_path / "run").glob("*.parquet"):
        metadata = pq.read_schema(table).metadata[b"diffusion"].decode()
        assert str(key) in metadata and "PRIVATE KEY" not in metadata
        assert secret not in metadata
    done = sweep(config, tmp_path / "sweep", "--workers", "1", "--quiet")
    assert done.exit_code == 0, done.output
    stored = [tmp_path / "sweep" / "sweep.json", *(tmp_path / "sweep").rglob("*.parquet")]
    for path in stored:
        assert "PRIVATE KEY" not in path.read_bytes().decode("latin-1"), path
