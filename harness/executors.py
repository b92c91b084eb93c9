"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

Every executor runs the same function, :func:`execute_chunk`, on a *chunk* of
runs (several runs per task, so scheduling overhead stays small against the
runs themselves), and returns each run's records as Parquet bytes, or its
error. The parent process, the only writer, stores them. Why the parent
writes rather than the workers:

- workers need no access to the results folder (Dask workers on other nodes
  or in containers often see a different filesystem);
- the claims of the runs in flight belong to one live process, so a killed
  study leaves claims whose holder is visibly dead and can be recovered;
- the expensive part of storing a run (building the Arrow table and encoding
  Parquet) still happens on the workers, in parallel: the parent only writes
  bytes and renames, well under a millisecond per run.

Each worker process loads a benchmark once and keeps it (``_BENCHMARKS``), so
a chunk costs one dictionary look-up, not a table load. A process pool starts
its workers as soon as it is made, while the study still loads its tables and
checks the runs on disk, and its forkserver imports the built-in strategies
once, so every worker is forked with them loaded. Chunks shrink as a study
nears its end (:func:`chunk_size_for`), so no worker idles long while another
finishes a large last chunk. Records are the same
whichever executor ran them: a run depends only on its seed and settings, and
only ``overhead_s`` (host time) differs.

``--run-timeout`` is enforced inside the run: between evaluations always, and
with ``SIGALRM`` also in the middle of a strategy's ``ask``/``tell`` where the
run executes on a process's main thread (in-process and process-pool
executors). Dask runs tasks on worker threads, where signals cannot reach, so
there the limit is checked between evaluations only.

Who can reach the workers: a process pool talks over pipes only this process
holds. ``--dask local:N`` starts a cluster secured with Dask's TLS and
temporary credentials (``Security.temporary()``: a certificate authority and
keys created in memory, handed to the worker processes when they start, never
written to disk), so no other process or account can submit work to it; its
scheduler and workers serve no HTTP routes (no dashboard). An address given
with ``--dask`` is the user's own cluster, secured as its docs describe.

No orphans: pool workers end within a second of the study process dying,
however its caller behaves: ``PR_SET_PDEATHSIG`` (Linux) kills them when the
forkserver that forked them exits, which it does once the study's pipe to it
closes, and a watch thread also ends them once the study is gone or a zombie
(``os.kill(pid, 0)`` alone succeeds on a zombie, which a caller that drains
the pipes before reaping keeps around). A ``--dask local:N`` cluster is
stopped with a time limit on each step, then its workers still alive are
killed (see :meth:`DaskExecutor.close`); its workers never see a Ctrl-C meant
for the study (see :func:`_start_local_cluster`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import math
import os
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from time import perf_counter, thread_time
from typing import Any

from tabnas.errors import BadConfiguration, DataMissing
from tabnas.runfile import encode_run, identity, settings_digest
from tabnas.runner import Budget, RunTimeout, run_search

#: (benchmark, strategy, seed): one run of a study.
RunKey = tuple[str, str, int]

#: Seconds to wait for a Dask scheduler before giving up.
DASK_CONNECT_TIMEOUT_S = 4
#: Seconds each step of stopping a Dask cluster may take before its workers are killed.
DASK_CLOSE_TIMEOUT_S = 10
#: Seconds between checks of a starting cluster (the waiting thread takes Ctrl-C).
_START_POLL_S = 0.1
#: Most local worker processes (``--workers N``, ``--dask local:N``) one study starts.
MAX_LOCAL_WORKERS = 256


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to run any run of a study; small and picklable."""

    experiment: str
    budget: Budget
    hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    benchmark_options: dict[str, Any] = field(default_factory=dict)
    data: str | None = None
    #: strategy name -> module that registers it (imported on the worker first).
    strategy_modules: dict[str, str] = field(default_factory=dict)
    sim_workers: int = 1
    mf_cost: str = "restart"
    run_timeout: float | None = None


@dataclass
class Outcome:
    """One run's result: Parquet bytes, or the error that stopped it."""

    key: RunKey
    parquet: bytes | None = None
    error: str | None = None
    traceback: str | None = None
    timed_out: bool = False
    #: CPU seconds the worker thread spent on this run (for throughput reports only).
    cpu_s: float = 0.0


_BENCHMARKS: dict[tuple, Any] = {}


def _benchmark(job: Job, name: str):
    key = (name, job.data, json.dumps(job.benchmark_options, sort_keys=True))
    bench = _BENCHMARKS.get(key)
    if bench is None:
        from tabnas.benchmarks import load_benchmark

        bench = _BENCHMARKS[key] = load_benchmark(name, data=job.data, **job.benchmark_options)
    return bench


def _strategy(job: Job, name: str):
    from tabnas.strategy import STRATEGIES

    module = job.strategy_modules.get(name)
    if module and module != "__main__":
        importlib.import_module(module)
    return STRATEGIES.get(name)


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Raise :class:`RunTimeout` after ``seconds``, where signals can be delivered."""
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def fire(signum, frame):
        raise RunTimeout(f"run exceeded its time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def execute_run(job: Job, key: RunKey) -> Outcome:
    """Run one search; any exception becomes a failed :class:`Outcome` (others go on)."""
    bench_name, strat_name, seed = key
    cpu0 = thread_time()
    try:
        bench = _benchmark(job, bench_name)
        cls = _strategy(job, strat_name)
        deadline = None if job.run_timeout is None else perf_counter() + job.run_timeout
        with _alarm(job.run_timeout):
            records = run_search(
                bench, cls, seed, job.budget, hyperparameters=job.hyperparameters.get(strat_name),
                experiment=job.experiment, strategy_name=strat_name,
                sim_workers=job.sim_workers, mf_cost=job.mf_cost, deadline=deadline,
            )
        ident = identity(job.experiment, bench_name, strat_name, seed,
                         job_settings(job, strat_name))
        return Outcome(key, parquet=encode_run(records.to_arrow(), ident),
                       cpu_s=thread_time() - cpu0)
    except Exception as exc:  # a failing strategy must not stop the study
        text = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return Outcome(key, error=text, traceback=traceback.format_exc(),
                       timed_out=isinstance(exc, RunTimeout), cpu_s=thread_time() - cpu0)


def execute_chunk(job: Job, keys: Sequence[RunKey]) -> list[Outcome]:
    """The task every executor runs: several runs, one after another."""
    return [execute_run(job, key) for key in keys]


def job_settings(job: Job, strategy: str) -> str:
    """The settings hash a run of ``strategy`` under ``job`` carries (see tabnas.runfile)."""
    settings = {"budget": job.budget.as_dict(), "benchmark_options": job.benchmark_options,
                "sim_workers": job.sim_workers, "mf_cost": job.mf_cost}
    return settings_digest(settings, job.hyperparameters.get(strategy, {}))


class Executor:
    """Submit chunks, collect finished ones. Results arrive in completion order."""

    #: Parallel slots; the study keeps about two chunks per slot in flight.
    slots: int = 1
    name: str = "in-process"

    def __init__(self) -> None:
        self._done: queue.Queue = queue.Queue()

    def ready(self) -> None:
        """Wait until work can be handed out; refuse in one line if it never can.

        The study calls it once, after preparing and before it writes anything, so
        an executor may start its workers in the background while the study prepares.
        """

    def submit(self, job: Job, keys: list[RunKey]) -> Any:
        raise NotImplementedError

    def next_done(self, timeout: float) -> Any | None:
        """A finished handle, or None after ``timeout`` seconds."""
        try:
            return self._done.get(timeout=timeout)
        except queue.Empty:
            return None

    def result(self, handle: Any) -> list[Outcome]:
        return handle.result()

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcessExecutor(Executor):
    """Runs each chunk when it is submitted, in this process: no start-up cost."""

    def submit(self, job: Job, keys: list[RunKey]) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(execute_chunk(job, keys))
        except BaseException as exc:
            fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        self._done.put(fut)
        return fut


def _process_alive(pid: int, start: int | None) -> bool:
    """Whether ``pid`` is the running study: not gone, not a zombie, not a reused pid."""
    try:
        text = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - one read
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): the pid's existence is all there is
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True
    fields = text.rpartition(")")[2].split()
    if fields[0] in ("Z", "X"):  # a zombie or dead: its caller has not reaped it yet
        return False
    return start is None or int(fields[19]) == start


def _die_with_forker() -> None:
    """Ask Linux to SIGKILL this process when the process that forked it exits."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the watch thread alone ends the worker


def _exit_with_parent(parent_pid: int, parent_start: int | None = None,
                      forkserver: bool = False, interval_s: float = 0.5) -> None:
    """Pool-worker initializer: end this worker once the study process is gone.

    A study killed with SIGKILL cannot shut its pool down, and forkserver
    workers are not its children, so nothing else would end them: they would
    idle forever. With the forkserver, ``PR_SET_PDEATHSIG`` ends them when it
    exits (it does when the study's end closes its pipe); a daemon thread also
    checks the study's state (a zombie counts as gone). The death signal is
    not used with ``spawn``: there the forking parent is a thread of the study,
    which may end while the study goes on.
    """
    import time

    if forkserver:
        _die_with_forker()
        if os.getppid() == 1:  # the forkserver already exited before the prctl
            os._exit(0)

    def watch() -> None:
        while True:
            if not _process_alive(parent_pid, parent_start):
                os._exit(0)
            time.sleep(interval_s)

    threading.Thread(target=watch, name="tabnas-parent-watch", daemon=True).start()


def _check_local_workers(count: int, given: str) -> None:
    if count > MAX_LOCAL_WORKERS:
        raise BadConfiguration(f"{given}: at most {MAX_LOCAL_WORKERS} local worker processes; "
                               "use a Dask cluster (dask=ADDRESS) for more")


class ProcessExecutor(Executor):
    """A local pool of ``workers`` processes (forkserver where available, else spawn).

    Not plain fork: the parent runs a heartbeat thread and may hold locks, and
    forking a threaded process can deadlock the child.
    """

    name = "processes"

    def __init__(self, workers: int) -> None:
        import multiprocessing as mp

        from tabnas.locks import _start_ticks
        from tabnas.main_guard import check_main_guard

        _check_local_workers(workers, f"workers={workers}")
        check_main_guard(f"workers={workers}")
        super().__init__()
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        if method == "forkserver":
            from tabnas.strategy import STRATEGIES

            # Imported once in the forkserver, so each worker starts with them loaded
            # instead of importing them all again (scipy among them) on its first chunk.
            ctx.set_forkserver_preload(["tabnas.executors", "numpy", "pyarrow.parquet",
                                        "tabnas.benchmarks", *STRATEGIES.builtin_modules()])
        self.slots = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                         initializer=_exit_with_parent,
                                         initargs=(os.getpid(), _start_ticks(os.getpid()),
                                                   method == "forkserver"))
        # Start the workers now, while the study prepares (loads its tables, checks
        # the runs on disk), rather than when the first chunk is submitted; from a
        # thread, as starting one waits for the forkserver to have imported its modules.
        self._starting: list[Future] = []
        self._starter = threading.Thread(target=self._start_workers, name="tabnas-pool-start",
                                         daemon=True)
        self._starter.start()

    def _start_workers(self) -> None:
        with contextlib.suppress(Exception):  # a pool that cannot start: ready() says so
            for _ in range(self.slots):
                self._starting.append(self._pool.submit(os.getpid))

    def ready(self) -> None:
        """Wait until every worker has started, or refuse if one ended while starting.

        A worker ends while starting when the script it re-imports fails there
        (or refuses, see :mod:`tabnas.main_guard`); found now, before any run is
        handed out or anything written, that is one line rather than every run
        failing as "worker lost".
        """
        from concurrent.futures.process import BrokenProcessPool

        self._starter.join()
        try:
            for fut in self._starting or [self._pool.submit(os.getpid)]:
                fut.result()
        except BrokenProcessPool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            script = getattr(sys.modules.get("__main__"), "__file__", None) or "the script"
            raise BadConfiguration(
                f"the worker processes (workers={self.slots}) ended while starting; each one "
                f"re-imports {os.path.basename(script)}, so see the lines above for why, and "
                "run the study under 'if __name__ == \"__main__\":'") from None

    def submit(self, job: Job, keys: list[RunKey]) -> Future:
        fut = self._pool.submit(execute_chunk, job, keys)
        fut.add_done_callback(self._done.put)
        return fut

    def close(self) -> None:
        self._starter.join()
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """A Dask ``distributed`` cluster: an address, ``local:N``, or a connected ``Client``.

    ``local:N`` starts N single-threaded worker *processes* on this machine;
    an address connects to a running scheduler; a ``Client`` (e.g. on a
    ``dask_jobqueue.SLURMCluster``) is used as it is and left open. The number
    of slots follows the cluster's worker threads as workers join or leave.
    """

    name = "dask"

    def __init__(self, target: Any) -> None:
        super().__init__()
        try:
            from distributed import Client
        except ImportError:
            raise DataMissing("dask needs Dask: pip install 'tabnas[dask]' "
                              "(or pip install 'dask[distributed]')") from None
        self._cluster = None
        self._own_client = True
        self._log_level: int | None = None
        #: (pid, start ticks) of the local cluster's worker processes.
        self._workers: set[tuple[int, int | None]] = set()
        if isinstance(target, Client):
            self.client = target
            self._own_client = False
        elif not isinstance(target, str):
            raise TypeError("DaskExecutor takes an address, 'local:N' or a distributed.Client")
        elif target.startswith("local:"):
            count = target.partition(":")[2]
            if not count.isdigit() or int(count) < 1:
                raise BadConfiguration(f"dask address {target!r}: write local:N with N >= 1 "
                                       "workers")
            _check_local_workers(int(count), f"dask address {target!r}")
            from tabnas.main_guard import check_main_guard

            check_main_guard(f"dask={target!r}")
            self._log_level = _quiet_distributed_logs()
            security = _temporary_security()
            self._cluster = _start_local_cluster(int(count), security)
            self._workers = _worker_processes(self._cluster)
            try:
                self.client = Client(self._cluster, security=security)
            except BaseException:  # a Ctrl-C while connecting, too: no cluster is left
                self._own_client = False
                self.close()
                raise
        else:
            reason = None
            try:
                self.client = Client(target, timeout=DASK_CONNECT_TIMEOUT_S)
            except Exception as exc:  # refused, timed out, or something that is not Dask
                reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            if reason is not None:
                # The Client that failed closes itself in __del__: collected now, not
                # whenever a later allocation runs the collector, which inside another
                # Client's start would wait for ever on the lock that start holds.
                gc.collect()
                raise BadConfiguration(
                    f"no Dask scheduler answered at {target!r} within "
                    f"{DASK_CONNECT_TIMEOUT_S} s ({reason}); check the address, or use "
                    "dask='local:N' for a cluster on this machine")
        self._slots = 1
        self._slots_at = -math.inf

    @property
    def slots(self) -> int:  # type: ignore[override]
        now = perf_counter()
        if now - self._slots_at > 2.0:
            self._slots = max(1, sum(self.client.nthreads().values()))
            self._slots_at = now
        return self._slots

    def submit(self, job: Job, keys: list[RunKey]) -> Any:
        fut = self.client.submit(execute_chunk, job, keys, pure=False)
        fut.add_done_callback(self._done.put)
        return fut

    def close(self) -> None:
        """Stop the cluster within a bounded time, whatever state it is in.

        Dask's own shutdown asks each worker to finish its task and waits for
        it, which after a Ctrl-C may be a strategy stuck in a long ``ask``; on
        busy cores it can also wait on a worker that is still starting. So
        each step has a time limit, and any worker process still alive
        after them is killed: the study's finished runs are already on disk.
        """
        try:
            if self._own_client:
                with contextlib.suppress(Exception):
                    self.client.close(timeout=DASK_CLOSE_TIMEOUT_S)
        finally:
            if self._cluster is not None:
                _stop_local_cluster(self._cluster, self._workers)
            if self._log_level is not None:
                logging.getLogger("distributed").setLevel(self._log_level)


def _quiet_distributed_logs() -> int:
    """Errors only from Dask's loggers in this process, for the cluster's lifetime.

    ``LocalCluster(silence_logs=...)`` lowers its log handlers only until the
    cluster closes, and restores them before the last messages of its shutdown
    (workers removed, plugins registered by a worker still starting): after a
    Ctrl-C those would follow tabnas' one line. The logger's own level holds
    until :meth:`DaskExecutor.close` has stopped everything; after a start that
    was interrupted (the process is ending) it stays. Returns the level to restore.
    """
    logger = logging.getLogger("distributed")
    old = logger.level
    logger.setLevel(logging.ERROR)
    return old


def _stop_local_cluster(cluster: Any, workers: set[tuple[int, int | None]] = frozenset()) -> None:
    """Close ``cluster`` with a time limit, then kill any of its workers still alive."""
    workers = set(workers) | _worker_processes(cluster)
    try:
        with contextlib.suppress(Exception):
            cluster.close(timeout=DASK_CLOSE_TIMEOUT_S)
    finally:
        _kill_processes(workers)


def _start_local_cluster(count: int, security) -> Any:
    """A TLS ``LocalCluster`` of ``count`` worker processes that Ctrl-C does not reach.

    A Ctrl-C in a terminal signals its whole process group, Dask's workers
    included. Only this process must act on it (it stops the cluster), or each
    worker would die in its task and log about it. A forked process starts
    with the signal mask of the thread that forked it, and Dask forks its
    workers from its own threads; so the cluster is built on a thread started
    with SIGINT blocked. Its threads, and every worker they start (one a nanny
    restarts later too), never see SIGINT, while this thread keeps it and
    waits: a Ctrl-C during the start-up (which takes minutes on busy cores)
    interrupts at once. The starting thread then stops the cluster itself
    once it is up; if this process exits first, the cluster ends with it (its
    scheduler runs in it, and each worker exits once its pipe to this process
    closes: Dask's parent watch).
    """
    from multiprocessing import resource_tracker

    import dask
    from distributed import LocalCluster

    built: dict[str, Any] = {}
    lock = threading.Lock()
    abandoned = False

    def build() -> None:
        try:
            # Scheduler and workers start an HTTP server whatever the options: with
            # no routes and a random local port, it serves nothing (no dashboard).
            with dask.config.set({"distributed.scheduler.http.routes": [],
                                  "distributed.worker.http.routes": []}):
                cluster = LocalCluster(
                    n_workers=count, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    scheduler_kwargs={"dashboard": False}, security=security,
                    # Errors only: stopping workers in the middle of their tasks (after
                    # a Ctrl-C) logs warnings below tabnas' one-line message.
                    silence_logs=logging.ERROR)
        except BaseException as exc:  # handed to the waiting thread
            built["error"] = exc
            return
        with lock:
            if not abandoned:
                built["cluster"] = cluster
                return
        _stop_local_cluster(cluster)  # the start was interrupted meanwhile

    starter = threading.Thread(target=build, name="tabnas-dask-start", daemon=True)
    # Started here, not by the first worker's spawn: the thread that starts
    # multiprocessing's resource tracker has SIGINT unblocked afterwards, and the
    # worker it forks next would take the Ctrl-C.
    resource_tracker.ensure_running()
    with _sigint_blocked():
        starter.start()
    try:
        while starter.is_alive():
            starter.join(_START_POLL_S)  # a Ctrl-C raises KeyboardInterrupt here
    except BaseException:
        with lock:
            abandoned = True
            cluster = built.pop("cluster", None)
        if cluster is not None:  # started just before the interrupt
            _stop_local_cluster(cluster)
        raise
    if "error" in built:
        raise built["error"]
    return built["cluster"]


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread (so in the threads it starts meanwhile), where possible."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _worker_processes(cluster: Any) -> set[tuple[int, int | None]]:
    """(pid, start ticks) of each worker process a ``LocalCluster``'s nannies run now."""
    from tabnas.locks import _start_ticks

    found = set()
    for nanny in list(getattr(cluster, "workers", {}).values()):
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if pid:
            found.add((pid, _start_ticks(pid)))
    return found


def _kill_processes(processes: set[tuple[int, int | None]]) -> None:
    """SIGKILL each process still running (same pid and start time), and wait until it is."""
    import time

    alive = {p for p in processes if _process_alive(*p)}
    for pid, _ in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = perf_counter() + DASK_CLOSE_TIMEOUT_S
    while alive and perf_counter() < deadline:  # a killed process is gone once reaped
        time.sleep(0.05)
        alive = {p for p in alive if _process_alive(*p)}


def _temporary_security():
    """TLS credentials created in memory for one local cluster (needs ``cryptography``)."""
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError:
        raise DataMissing("dask='local:N' secures its cluster with TLS, which needs the "
                          "'cryptography' package: pip install 'tabnas[dask]'") from None


def make_executor(workers: int = 1, dask: str | None = None) -> Executor:
    """The executor for ``--workers N`` / ``--dask ADDRESS|local:N`` (in-process by default)."""
    if dask is not None and workers > 1:
        raise BadConfiguration("give either workers or dask, not both")
    if dask is not None:
        return DaskExecutor(dask)
    if workers > 1:
        return ProcessExecutor(workers)
    return InProcessExecutor()


def chunk_size_for(todo: int, slots: int) -> int:
    """The next chunk's size: an eighth of each slot's share of the runs left, at most 64.

    Asked again for every chunk, so chunks shrink as the study nears its end
    (guided self-scheduling): early chunks are large (little scheduling per
    run, at most 64 runs lost on a kill) and the last ones hold a single run,
    so no worker idles long while another finishes a large last chunk. Against
    fixed chunks, the shrinking end adds about ``8 * slots * (1 + ln 64)``
    chunks (some 40 per slot), whatever the study's size.
    """
    if slots <= 1:
        return 1
    return max(1, min(64, math.ceil(todo / (slots * 8))))
