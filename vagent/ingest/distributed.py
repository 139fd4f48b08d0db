"""The per-file work of an index run on an existing Ray cluster (``vagent index --ray ADDRESS``).

The driver (the ``vagent index`` process) plans each file from the catalog exactly as a local run
does, sends the files to encode as Ray tasks, and lands each result in the order the files were
given, as one commit per video (``IndexRun.settle``): the catalog and the vector files are only
ever written by the driver. Files travel by path, so every node must see them at the same path
(shared storage); results come back as NumPy arrays.

- A worker process builds the library's components once and keeps them for the files that
  follow (``_PARTS``, one per library spec), so models load once per worker, not once per file.
- Files spread over the nodes (``SPREAD``); at most ``2 x CPUs`` are in flight, the rest wait
  on the driver. Where the cluster has GPUs, each file's task asks for half of one (Ray sets
  ``CUDA_VISIBLE_DEVICES``; the encoders use the GPU they see): not tried here, no GPU.
- An address nothing answers on is one line at once (Ray itself would retry for minutes).
- A task whose worker or node dies is retried by Ray (``RETRIES`` times, elsewhere when the
  node is gone); a file lost on every try is one line naming it, and the rest go on.
- A file that is bad comes back as its reason (one line, as locally); a model that cannot load
  stops the run, as locally.
- Two files with the same content, or a file matching a row a file in flight replaces, are
  decided after what is in flight has landed, so the rows are those a local run makes.
- A killed driver loses only the files not yet landed; running it again resumes (the files that
  landed are unchanged and skipped).
- The driver always exits promptly: ``ray.shutdown()`` runs however the run ends and is given
  ``SHUTDOWN_SECONDS``; and once the main thread has finished, a process that is still alive
  ``EXIT_SECONDS`` later (a Ray or gRPC thread, or an exit handler, waiting on a dead node) is
  ended with its output flushed and the exit code its report gives (0; 1 some files failed; 2
  all failed), instead of hanging. Where even that cannot run (the interpreter is past the point
  where Python threads run), ``faulthandler`` ends it 5 s later with exit code 1, the threads'
  stacks on stderr. Only the ``vagent`` command is watched, never a process that imports vagent.

Ray is imported only here and only with ``--ray`` (``pip install 'vagent[ray]'``).
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import logging
import os
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from vagent.catalog import LibraryRow
from vagent.errors import BadVideo, VagentError
from vagent.ingest.commit import NewVideo
from vagent.ingest.run import IndexRun
from vagent.ingest.work import FileWork, Job, Options, Parts, Tally, stderr_warn
from vagent.library.build import Builder
from vagent.library.spec import LibrarySpec
from vagent.types import IndexReport

# Ray's retries of a task whose worker process or node died (application errors are not retried).
RETRIES = 3
# Files in flight per task slot of the cluster (a CPU, or a GPU share where it has GPUs).
PER_CPU = 2
# Where the cluster has GPUs, each file's task takes this share of one (two files per GPU).
GPU_SHARE = 0.5
# Seconds to wait for the cluster's GCS port to answer before saying it cannot be reached.
REACH_SECONDS = 5.0
# Seconds given to ray.shutdown() before the run goes on without it (one warning line).
SHUTDOWN_SECONDS = 15.0
# Seconds a process that ran a Ray ingest may take to exit after its main thread has finished.
EXIT_SECONDS = 10.0


class RayUnavailable(VagentError):
    """Ray is not installed, or the cluster cannot be reached."""


@dataclass
class Outcome:
    """What a worker sends back for one file: the video (or why it failed), its counters, the
    warnings it gave, and the Ray node that did the work."""

    new: NewVideo | None
    tally: Tally
    failure: tuple[str, str] | None
    warnings: list[str] = field(default_factory=list)
    node: str = ""


def spec_of(run: IndexRun) -> LibrarySpec:
    """What a worker builds ``run``'s components from: the library's pinned settings (its
    catalog row, as the library reads it) with the run's decoder; hashable and picklable."""
    with run.catalog.session() as s:
        row = s.scalars(select(LibraryRow).where(LibraryRow.id == run.library_id)).one()
        spec = LibrarySpec.of_row(row)
    return replace(spec, decoder=run.parts.decoder.id)


# ---- worker side -----------------------------------------------------------------------------

_PARTS: dict[LibrarySpec, Parts] = {}  # this worker process's components, built on its first file


def build_parts(spec: LibrarySpec) -> Parts:
    """The components of ``spec``, built by the library's one ``Builder`` (as a local run's
    are) and loaded now, so a model that cannot load fails the first file, not a later one.
    The speech recogniser loads on the first file with audio, as locally."""
    parts = Builder(spec).parts()
    for model in (parts.encoder, parts.text_encoder, parts.ocr, parts.captioner):
        if model is not None:
            model.load()
    return parts


def encode_file(spec: LibrarySpec, opts: Options, job: Job) -> Outcome:
    """One file's work on a worker (the body of the Ray task)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    parts = _PARTS.get(spec)
    if parts is None:
        parts = _PARTS[spec] = build_parts(spec)
    warnings: list[str] = []
    work = FileWork(parts, opts, warnings.append)
    try:
        new, tally = work.encode(job)
    except BadVideo as exc:
        return Outcome(None, work.tally, (exc.path, exc.reason), warnings, node)
    except OSError as exc:
        return Outcome(None, work.tally, (job.path, exc.strerror or str(exc)), warnings, node)
    return Outcome(new, tally, None, warnings, node)


# ---- driver side -----------------------------------------------------------------------------


def connect(address: str) -> tuple[Any, bool]:
    """The ``ray`` module, connected to the cluster at ``address`` ("auto": the one this
    machine belongs to), and whether this call connected it (else it already was). The
    workers get this process's ``VAGENT_*`` variables."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            "--ray needs Ray on this machine and every node: pip install 'vagent[ray]'"
        ) from None
    if ray.is_initialized():
        return ray, False
    _reachable(address)
    env = {k: v for k, v in os.environ.items() if k.startswith("VAGENT_")}
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=True,
            runtime_env={"env_vars": env} if env else None,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"cannot reach the Ray cluster at {address}: {exc}") from None
    return ray, True


def _reachable(address: str) -> None:
    """Refuse a ``host:port`` nothing answers on at once (Ray itself retries for minutes)."""
    host, sep, port = address.rpartition(":")
    if "://" in address or not sep or not port.isdigit():
        return  # "auto", or a ray:// client address: Ray says what is wrong
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise RayUnavailable(
            f"cannot reach the Ray cluster at {address}: {why} (is `ray start --head` running "
            f"there, and is this its GCS port?)"
        ) from None


@dataclass
class _Entry:
    path: str
    job: Job
    ref: Any


class _Driver:
    """Submits planned files to the cluster and lands them in order."""

    def __init__(self, run: IndexRun, ray: Any, total: int) -> None:
        self.run, self.ray = run, ray
        self.spec = spec_of(run)
        self.opts: Options = replace(run.opts, progress=False, ray=None)
        have = ray.cluster_resources()
        gpus = float(have.get("GPU", 0))
        self.task = ray.remote(encode_file).options(
            num_cpus=1,
            num_gpus=GPU_SHARE if gpus else 0,  # the encoders use the GPU Ray gives the task
            max_retries=RETRIES,
            retry_exceptions=False,
            scheduling_strategy="SPREAD",  # files (and model loads) spread over the nodes
        )
        slots = float(have.get("CPU", 1))
        if gpus:
            slots = min(slots, gpus / GPU_SHARE)
        self.window = max(2, int(PER_CPU * slots))
        self.order: deque[_Entry] = deque()
        self.bar = tqdm(
            total=total,
            desc="ray",
            unit="video",
            disable=not run.opts.progress,
            leave=False,
            dynamic_ncols=True,
        )

    def busy(self, digest: str, row_id: int | None) -> bool:
        return any(e.job.digest == digest or row_id in e.job.drop for e in self.order)

    def submit(self, path: str) -> None:
        job = self.run.plan(path)
        if job is None:
            self.bar.update()
            return
        self.order.append(_Entry(path, job, self.task.remote(self.spec, self.opts, job)))

    def land_next(self) -> None:
        e = self.order.popleft()
        try:
            self.run.guarded(e.path, lambda _: self._land(e))
        finally:
            self.bar.update()

    def drain(self) -> None:
        while self.order:
            self.land_next()

    def _land(self, e: _Entry) -> None:
        ray = self.ray
        try:
            out: Outcome = ray.get(e.ref)
        except ray.exceptions.RayTaskError as exc:
            raise exc.cause from None  # a model that cannot load, or a bug: as locally
        except ray.exceptions.RayError as exc:  # its worker or node died on every try
            why = f"lost on the Ray cluster after {RETRIES + 1} tries ({type(exc).__name__})"
            self.run.fail(e.path, why)
            return
        for line in out.warnings:
            stderr_warn(line)  # a VagentWarning: the CLI's one warning: line
        if out.failure is not None:
            self.run.fail(*out.failure)
            return
        assert out.new is not None
        nodes = self.run.report.nodes
        nodes[out.node] = nodes.get(out.node, 0) + 1
        self.run.settle(e.job, out.new, out.tally)
        self.bar.set_postfix_str(f"{self.run.report.video_seconds:.0f} video-s")

    def cancel(self) -> None:
        for e in self.order:
            self.ray.cancel(e.ref, force=True)
        self.order.clear()
        self.bar.close()


def run_on_ray(run: IndexRun, files: list[str], address: str) -> None:
    """Index ``files`` for ``run`` with the per-file work on the cluster at ``address``.
    Ray's own notices (a task retried after its node died) go to stderr, never into what the
    caller prints on stdout (``--json``)."""
    with contextlib.redirect_stdout(sys.stderr):
        ray, owned = connect(address)
        driver = _Driver(run, ray, len(files))
        run.busy, run.drain = driver.busy, driver.drain
        try:
            for path in files:
                if len(driver.order) >= driver.window:
                    driver.land_next()
                if not run.before_file(path, run.report):
                    break  # what is in flight still lands
                run.guarded(path, driver.submit)
            driver.drain()
        finally:
            try:
                driver.cancel()
            finally:
                run.busy, run.drain = (lambda digest, row_id: False), (lambda: None)
                if owned:
                    del driver  # its task and references go before the connection does
                    shutdown(ray)
                    exit_watchdog(run.report)


def shutdown(ray: Any, seconds: float = SHUTDOWN_SECONDS) -> bool:
    """``ray.shutdown()``, given ``seconds``: False (and one warning line) when it did not
    return in time (it goes on in a daemon thread, which does not hold the process up)."""
    done = threading.Event()

    def close() -> None:
        with contextlib.suppress(Exception):
            ray.shutdown()
        done.set()

    threading.Thread(target=close, name="vagent-ray-shutdown", daemon=True).start()
    if done.wait(seconds):
        return True
    stderr_warn(f"ray: the connection to the cluster did not close in {seconds:.0f} s; going on")
    return False


_WATCHING: list[threading.Thread] = []  # at most one watchdog a process


def _is_cli() -> bool:
    """Whether this process is the ``vagent`` command (``vagent ...`` or ``python -m vagent``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name in ("vagent", "vagent.__main__"):
        return True
    return bool(sys.argv) and Path(sys.argv[0]).name == "vagent"


def exit_watchdog(report: IndexReport, seconds: float = EXIT_SECONDS) -> None:
    """Make sure this process exits after a Ray run: once the main thread has finished (the
    interpreter is exiting), a process still alive ``seconds`` later is ended, its output
    flushed, with the exit code ``report`` gives. A process whose main thread goes on (a
    notebook, a server calling ``Library.index``) is never touched."""
    if _WATCHING or not _is_cli():
        return
    main = threading.main_thread()

    def watch() -> None:
        while main.is_alive():
            time.sleep(0.2)
        time.sleep(seconds)
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        os._exit(report.exit_code)

    # the backstop, armed at exit (before Ray's exit handler runs), needs no interpreter: it
    # fires even once Python threads no longer run (a hang while the interpreter is finalized)
    atexit.register(faulthandler.dump_traceback_later, seconds + 5, exit=True)
    thread = threading.Thread(target=watch, name="vagent-exit-watchdog", daemon=True)
    _WATCHING.append(thread)
    thread.start()
