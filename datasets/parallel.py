"""Running designs in workers with a per-design time limit: a local process pool, or Ray.

Both yield ``(spec, result)`` in completion order and never raise for a design's sake;
``result`` is :func:`design.run_design`'s dict. A design past its deadline yields a
failure and its worker is ended, which is why neither uses ``concurrent.futures``: a
ProcessPoolExecutor cannot stop one running task.

Local workers are ``spawn``ed (TensorFlow is not fork-safe), import the heavy stack once,
say "ready", and only then get work, so no design's time limit pays for imports.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import signal
import time
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .space import DesignSpec

Outcome = tuple[DesignSpec, dict[str, Any]]
_READY = "ready"
_MAX_STARTUP_DEATHS = 3  # a worker that cannot even import would otherwise be respawned forever
_GRACE_S = 5.0  # SIGTERM -> SIGKILL: time for a worker to stop Yosys's process group


def _discard_scratch(work_root: str, spec: DesignSpec) -> None:
    """A killed design cannot clean up after itself; its scratch directory is removed here."""
    shutil.rmtree(Path(work_root) / spec.design_id, ignore_errors=True)


def _timeout_result(timeout_s: float) -> dict[str, Any]:
    return {"ok": False, "error": f"TimedOut: design did not finish within {timeout_s:g} s", "elapsed_s": timeout_s}


# --- local pool ---------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:
    # SystemExit unwinds through _proc.run_logged, which ends Yosys's process group.
    raise SystemExit(143)


def _worker_main(conn: Connection, label: str, work_root: str, timeout_s: float) -> None:
    """A worker's life: import once, then run designs until told to stop (None) or killed."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    import warnings

    warnings.simplefilter("ignore")  # hls4ml's per-layer UserWarnings would bury the progress bar
    from .design import prepare_worker, run_design

    try:
        prepare_worker()
    except Exception as err:  # noqa: BLE001  (each design will report the same error)
        conn.send({"ok": False, "error": f"worker start-up failed: {type(err).__name__}: {err}"})
    conn.send(_READY)
    while True:
        try:
            spec_data = conn.recv()
        except EOFError:
            return
        if spec_data is None:
            return
        result = run_design(spec_data, label, work_root, timeout_s)
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return  # the parent is gone (killed): nobody to report to


class _Worker:
    """One spawned worker process, its pipe, and the design it is running (if any)."""

    def __init__(self, ctx: Any, label: str, work_root: str, timeout_s: float) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, label, work_root, timeout_s), daemon=True)
        self.proc.start()
        child.close()
        self.work_root = work_root
        self.ready = False
        self.spec: DesignSpec | None = None
        self.deadline = float("inf")

    def assign(self, spec: DesignSpec, timeout_s: float) -> None:
        self.spec, self.deadline = spec, time.monotonic() + timeout_s
        self.conn.send(spec.as_dict())

    def release(self) -> DesignSpec:
        spec, self.spec, self.deadline = self.spec, None, float("inf")
        assert spec is not None
        return spec

    def stop(self, graceful: bool) -> None:
        """End the worker: ask (None), or SIGTERM (its Yosys stops too), then SIGKILL."""
        if graceful:
            try:
                self.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            self.proc.join(_GRACE_S)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(_GRACE_S)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def run_local(specs: list[DesignSpec], label: str, work_root: str, timeout_s: float,
              workers: int) -> Iterator[Outcome]:
    """Run ``specs`` on ``workers`` spawned processes, replacing any worker that times out or dies."""
    ctx = mp.get_context("spawn")
    queue = deque(specs)
    pool: list[_Worker] = []
    startup_deaths: list[int | None] = []
    try:
        while queue or any(w.spec is not None for w in pool):
            if len(startup_deaths) >= _MAX_STARTUP_DEATHS:
                raise RuntimeError(f"{len(startup_deaths)} workers died while starting (exit codes "
                                   f"{startup_deaths}); run one design with FPGAML_DEBUG=1 to see why")
            while len(pool) < min(workers, len(queue) + sum(w.spec is not None for w in pool)):
                pool.append(_Worker(ctx, label, work_root, timeout_s))
            for worker in pool:
                if worker.ready and worker.spec is None and queue:
                    worker.assign(queue.popleft(), timeout_s)
            yield from _collect(pool, timeout_s, startup_deaths)
    finally:
        for worker in pool:
            worker.stop(graceful=worker.spec is None)


def _collect(pool: list[_Worker], timeout_s: float, startup_deaths: list[int | None]) -> Iterator[Outcome]:
    """Wait for the next message or deadline; yield finished, timed-out and crashed designs."""
    now = time.monotonic()
    next_deadline = min((w.deadline for w in pool), default=float("inf"))
    wait_s = None if next_deadline == float("inf") else max(0.0, next_deadline - now)
    ready = wait([w.conn for w in pool], timeout=wait_s)
    for worker in list(pool):
        if worker.conn in ready:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                message = None
            if message == _READY:
                worker.ready = True
                continue
            if message is None:  # the pipe closed: the worker died (OOM killer, segfault)
                code = worker.proc.exitcode
                pool.remove(worker)
                worker.stop(graceful=False)
                if not worker.ready:
                    startup_deaths.append(code)
                if worker.spec is not None:
                    _discard_scratch(worker.work_root, worker.spec)
                    yield worker.spec, {"ok": False, "error": f"WorkerDied: worker exited with code {code}"}
                continue
            if worker.spec is None:
                continue  # a start-up error report; the designs will say it again
            yield worker.release(), message
        elif worker.spec is not None and time.monotonic() >= worker.deadline:
            spec = worker.spec
            pool.remove(worker)
            worker.stop(graceful=False)
            _discard_scratch(worker.work_root, spec)
            yield spec, _timeout_result(timeout_s)


# --- Ray ----------------------------------------------------------------------------------


def require_ray() -> Any:
    """The ray module, or a one-line ToolMissing (checked before any work starts)."""
    try:
        import ray
    except ImportError:
        from ..compiler.errors import ToolMissing

        raise ToolMissing('--ray-address needs Ray: pip install "ray==2.60.0"') from None
    return ray


def _ray_init(address: str, workers: int) -> bool:
    """Connect to (or start, for 'local') a Ray cluster; True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    env = {"env_vars": {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}}
    if address == "local":
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, runtime_env=env,
                 configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, runtime_env=env)
    return True


def _ray_task(spec_data: dict[str, Any], label: str, work_root: str, timeout_s: float) -> dict[str, Any]:
    from .design import run_design

    return run_design(spec_data, label, work_root, timeout_s)


def run_ray(specs: list[DesignSpec], label: str, work_root: str, timeout_s: float, address: str,
            workers: int) -> Iterator[Outcome]:
    """Run ``specs`` as Ray tasks, at most as many in flight as the cluster has CPUs.

    Capping what is in flight makes a task's submit time its start time (near enough), so
    the deadline measures the design, not the queue. An overdue task is force-cancelled
    (its worker process is killed; Yosys has its own limit and stops by itself). Records
    come back through Ray, so remote nodes need fpgaml, Yosys and a writable ``work_root``
    path of their own, not a shared file system.
    """
    ray = require_ray()
    started = _ray_init(address, workers)
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        capacity = max(1, int(ray.cluster_resources().get("CPU", workers)))
        yield from _ray_loop(ray, remote, deque(specs), label, work_root, timeout_s, capacity)
    finally:
        if started:
            ray.shutdown()


def _ray_loop(ray: Any, remote: Any, queue: deque, label: str, work_root: str, timeout_s: float,
              capacity: int) -> Iterator[Outcome]:
    # The first task on a fresh Ray worker imports TensorFlow: give it the import time too.
    first_extra_s = 120.0
    in_flight: dict[Any, tuple[DesignSpec, float]] = {}
    while queue or in_flight:
        while queue and len(in_flight) < capacity:
            spec = queue.popleft()
            ref = remote.remote(spec.as_dict(), label, work_root, timeout_s)
            in_flight[ref] = (spec, time.monotonic() + timeout_s + first_extra_s)
        next_deadline = min(d for _, d in in_flight.values())
        done, _ = ray.wait(list(in_flight), num_returns=1, timeout=max(0.0, next_deadline - time.monotonic()))
        for ref in done:
            spec, _ = in_flight.pop(ref)
            yield spec, _ray_result(ray, ref)
            first_extra_s = 0.0
        for ref, (spec, deadline) in list(in_flight.items()):
            if time.monotonic() >= deadline:
                ray.cancel(ref, force=True)
                in_flight.pop(ref)
                _discard_scratch(work_root, spec)
                yield spec, _timeout_result(timeout_s)


def _ray_result(ray: Any, ref: Any) -> dict[str, Any]:
    try:
        return ray.get(ref)
    except Exception as err:  # noqa: BLE001  (a dead worker or a cancelled task: one failure)
        text = str(err).strip().splitlines()
        return {"ok": False, "error": f"{type(err).__name__}: {text[0] if text else ''}"}
