"""Jobs run at the same moment, each in its own thread on its own database connection:
the races of the PostgreSQL tests (row locks, constraints, triggers across
connections)."""

import threading
from collections.abc import Callable, Sequence

from django.db import connection


def at_once(
    jobs: Sequence[Callable],
    *,
    prepare: Callable[[int], object] | None = None,
    timeout: float = 120,
) -> list:
    """Run each job in its own thread, all released together by a barrier; return what
    each returned, in order. ``prepare(i)``, when given, runs in thread ``i`` before the
    barrier (a client of its own, ``SET ROLE``...) and its value is the job's argument.
    Each thread closes its connection at the end. An exception in any thread (or a
    thread still running after ``timeout`` seconds) fails the caller: the barrier is
    broken for the others so that none waits for it."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list = []

    def work(i):
        try:
            state = prepare(i) if prepare else None
            barrier.wait(timeout=30)
            results[i] = jobs[i](state) if prepare else jobs[i]()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a job hung"
    assert not errors, errors
    return results
