"""Where grading jobs run: in this process (--jobs 1), a local process pool, or Dask.

    backend = Backend(jobs=2)                 # or Backend(scheduler="tcp://host:8786")
    future = backend.submit(fn, *args)
    done = backend.wait(pending_futures)      # at least one finished
    backend.restart()                         # after BrokenProcessPool
    backend.close()

``window`` is how many jobs the caller should keep in flight: each job carries a file's
bytes, so submitting them a few at a time keeps the grader's memory independent of the
class size.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing


class Backend:
    """Where grading jobs run: here (--jobs 1), a local process pool, or a Dask cluster.

    ``submit(fn, *args) -> future``; ``wait(futures) -> done``; ``restart()`` replaces a
    broken process pool; ``window`` is how many jobs may be in flight (each holds a file's
    bytes, so the grader's memory does not grow with the class size)."""

    def __init__(self, jobs: int = 1, scheduler: str | None = None):
        self.jobs, self.client, self.pool = jobs, None, None
        if scheduler:
            from distributed import Client
            self.client = Client(scheduler, timeout=30)
            threads = sum(self.client.nthreads().values()) or 1
            self.window = 2 * threads
        elif jobs > 1:
            self._new_pool()
            self.window = jobs + 2
        else:
            self.window = 1

    def _new_pool(self) -> None:
        self.pool = futures.ProcessPoolExecutor(
            max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn, *args):
        if self.client is not None:
            return self.client.submit(fn, *args, pure=False)
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        future = futures.Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # noqa: BLE001 - reported by the caller
            future.set_exception(error)
        return future

    def wait(self, pending) -> set:
        if self.client is not None:
            from distributed import wait
            return set(wait(list(pending), return_when="FIRST_COMPLETED").done)
        return futures.wait(list(pending), return_when=futures.FIRST_COMPLETED).done

    def restart(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self._new_pool()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
