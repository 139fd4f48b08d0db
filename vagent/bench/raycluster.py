"""A real 2-node Ray cluster on loopback only, for tests and ``vagent bench ray``.

The caller runs a process inside new network and PID namespaces (``NAMESPACES + [argv...]``);
that process calls :func:`start_local_cluster`, which brings ``lo`` up and starts ``ray start
--head`` and a second ``ray start`` (node two), one CPU each, both on 127.0.0.1. Nothing in the
namespace can reach another interface, and every Ray process ends with the namespace's first
process (the kernel kills the rest of a PID namespace when its first process exits), so
stopping the cluster is that process exiting. ``--kill-child`` ends the namespace too when the
``unshare`` process itself is killed (a timeout).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# new network and PID namespaces: only loopback, and every process in them ends with the first
NAMESPACES = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
PORT = 6379  # inside the namespace's own network: nothing else listens there
LOOPBACK = "127.0.0.1"


def ray_missing() -> str | None:
    """Why Ray cannot be used from this Python (None: it can)."""
    try:
        import psutil  # noqa: F401
        import ray  # noqa: F401
    except ImportError:
        return "needs Ray: pip install 'vagent[ray]'"
    return None


def namespaces_missing() -> str | None:
    """Why this machine cannot make the namespaces the cluster runs in (None: it can)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2)"
    done = subprocess.run([*NAMESPACES, "ip", "link", "set", "lo", "up"], capture_output=True)
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        return f"cannot make network/PID namespaces here (root needed): {' '.join(why[:1])}"
    return None


def unavailable() -> str | None:
    """Why this machine cannot run the cluster in namespaces (None: it can)."""
    return namespaces_missing() or ray_missing()


def ray_start(*args: str, env: Mapping[str, str]) -> None:
    """``ray start ARGS`` for one node of one CPU on 127.0.0.1 (this Python's ``ray`` script)."""
    ray = str(Path(sys.executable).with_name("ray"))
    common = [
        f"--node-ip-address={LOOPBACK}",
        "--num-cpus=1",
        "--object-store-memory=80000000",
        "--disable-usage-stats",
    ]
    done = subprocess.run(
        [ray, "start", *args, *common], env=dict(env), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"ray start {' '.join(args)} failed: {done.stdout}{done.stderr}")


def start_local_cluster(temp: str, env: Mapping[str, str], port: int = PORT) -> str:
    """Inside the namespaces: loopback up, then a head and a second node (one CPU each); the
    head's address. ``temp``: Ray's session folder (its socket paths must stay under 108
    bytes: a short folder under /tmp). Refuses to start where any interface but ``lo`` exists,
    so the cluster can never listen on another address."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    others = sorted(name for _, name in socket.if_nameindex() if name != "lo")
    if others:
        raise RuntimeError(
            f"refusing to start a Ray cluster outside a loopback-only network namespace "
            f"(interfaces here: {', '.join(others)})"
        )
    ray_start(
        "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}", env=env
    )
    ray_start(f"--address={LOOPBACK}:{port}", env=env)
    return f"{LOOPBACK}:{port}"
