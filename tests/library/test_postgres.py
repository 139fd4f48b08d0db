"""The catalog in a real PostgreSQL server (a throwaway cluster on a Unix socket, no network):
the same library operations as on SQLite, two libraries sharing one database."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import COLOUR
from vagent import Library

pytestmark = pytest.mark.slow
BIN = Path("/usr/lib/postgresql/15/bin")


def _pg_tool(name: str) -> str | None:
    found = shutil.which(name)
    return found or (str(BIN / name) if (BIN / name).exists() else None)


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg")
    owner = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            owner = pwd.getpwnam("postgres").pw_name
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
    # not under pytest's tmp dirs: they are private to us, and the server runs as 'postgres'
    root = Path(tempfile.mkdtemp(prefix="vagent-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if owner:
        shutil.chown(root, owner)
        shutil.chown(sock, owner)
        root.chmod(0o755)

    def run(*cmd: str, check: bool = True) -> None:
        subprocess.run(_as_owner(list(cmd), owner), check=check, capture_output=True, cwd=root)

    try:
        run(initdb, "-D", str(data), "-U", "vagent", "-A", "trust")
        opts = f"-c listen_addresses='' -k {sock} -p 54329"
        run(pg_ctl, "-D", str(data), "-o", opts, "-w", "start", "-l", str(root / "log"))
        yield f"postgresql+psycopg://vagent@/postgres?host={sock}&port=54329"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.usefixtures("colour_plugin")
def test_libraries_in_postgresql(postgres_url: str, videos: Path) -> None:
    a = Library.open("pg_a", db=postgres_url)
    b = Library.open("pg_b", db=postgres_url)
    report = a.index([str(videos)], encoder=COLOUR, text="none", progress=False)
    assert len(report.indexed) == 2
    b.index([str(videos / "yw.mp4")], encoder=COLOUR, text="none", progress=False)
    top = a.search("blue", k=1)[0]
    assert (Path(top.video).name, top.start, top.end) == ("rgb.mp4", 20.0, 30.0)
    assert {Path(h.video).name for h in b.search("blue", k=10)} == {"yw.mp4"}
    assert a.info()["catalog"].startswith("postgresql+psycopg://vagent@/postgres")
    assert not (a.root / "catalog.db").exists()

    again = Library.open("pg_a", db=postgres_url).index([str(videos)], progress=False)
    assert len(again.skipped) == 2
    a.remove(["yw.mp4"])
    assert a.info()["frames"] == 30 and b.info()["frames"] == 12
