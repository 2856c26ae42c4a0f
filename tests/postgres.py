"""A real PostgreSQL server for tests: Debian's ``postgresql`` package (``make postgres``
installs it), a cluster made by ``initdb`` in a temporary folder and started by ``pg_ctl`` on
a free loopback port, stopped and deleted afterwards.

PostgreSQL refuses to run as root, and CI runs the tests as root: then the cluster belongs to
the ``postgres`` system user, and its commands run as that user (``runuser``).
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.servers import free_port


def server_binaries() -> Path:
    """The ``bin`` folder of the newest PostgreSQL installed."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    assert found, "PostgreSQL's server is not installed: run `make postgres`"
    return found[-1].parent


@contextmanager
def running_postgres() -> Iterator[str]:
    """A fresh cluster on 127.0.0.1; yields the URL of its ``postgres`` database (user
    ``postgres``, trusted on loopback)."""
    binaries = server_binaries()
    # Not under pytest's tmp_path: its folders are root's alone, and the server's user must
    # reach its own.
    base = Path(tempfile.mkdtemp(prefix="qa-postgres-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, log = base / "data", base / "server.log"
    port = free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_owner, *command], check=True, capture_output=True, timeout=120)

    try:
        run(
            str(binaries / "initdb"),
            "--pgdata",
            str(data),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        # Its socket in its own folder (Debian's /var/run/postgresql may not exist); fsync
        # off: the tests' data need not survive a power cut.
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
        pg_ctl = [str(binaries / "pg_ctl"), "--pgdata", str(data)]
        run(*pg_ctl, "--log", str(log), "-o", options, "--wait", "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(*pg_ctl, "--mode", "immediate", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def new_database(server_url: str) -> str:
    """A new, empty database on the server of ``server_url``; returns its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
