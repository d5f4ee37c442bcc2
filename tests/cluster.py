"""A PostgreSQL cluster the tests own, to stop and restart under the app.

`initdb` into a fresh folder under /tmp, served on a free port with its socket in
that folder. As root it runs as the `postgres` user (initdb refuses root). It is
never the machine's own server, which other tests and CI share.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import free_port, service_missing


def postgres_bin(name: str) -> str | None:
    """Where a PostgreSQL server program lives (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class Cluster:
    """One throwaway PostgreSQL server: start, stop, restart, make databases."""

    def __init__(self):
        self.initdb, self.pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            service_missing("PostgreSQL server programs (initdb, pg_ctl) not found")
        self.as_postgres = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="microblog-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.user = "postgres" if self.as_postgres else pwd.getpwuid(os.getuid())[0]
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self.run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", self.user)

    def run(self, *command: str) -> None:
        """Run a server program, as `postgres` when we are root."""
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        result = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"{command[0]} failed:\n{result.stderr}"

    def control(self, action: str) -> None:
        """pg_ctl start, stop or restart, waiting until it is done."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off"
        )
        log = str(self.folder / "server.log")
        self.run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-w",
            "-m",
            "fast",
            "-l",
            log,
            "-o",
            options,
            action,
        )

    def start(self) -> None:
        """Start the server (and wait until it accepts connections)."""
        self.control("start")

    def stop(self) -> None:
        """Stop the server: every connection to it is cut."""
        self.control("stop")

    def restart(self) -> None:
        """Stop and start again, as an upgrade or a failover does."""
        self.control("restart")

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for database on this server."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"microblog_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(
            self.url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
        )
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        subprocess.run(
            [*prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """The test-owned cluster, running at the start of each test that uses it."""
    cluster = Cluster()
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def cluster(pg_cluster):
    """The test-owned cluster, started again afterwards if the test stopped it."""
    yield pg_cluster
    probe = sa.create_engine(pg_cluster.url(), poolclass=sa.NullPool)
    try:
        with probe.connect():
            pass
    except sa.exc.OperationalError:
        pg_cluster.start()
    finally:
        probe.dispose()
