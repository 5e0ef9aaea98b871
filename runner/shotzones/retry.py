"""The one retry policy: what a transient error is (one that goes away by itself, worth trying
again), and how long to wait before the next try. A backfill's waves retry by attempts
(`Options.max_attempts`); a wait for the BigQuery lock row, and the ledger writes around it, by
a deadline (`until`)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# Errors that go away by themselves: a lock held by another process, a serialization
# conflict, a quota or rate limit, a dropped connection.
TRANSIENT_ERRORS = (
    "could not set lock",
    "conflicting lock",
    "could not serialize",
    "transaction conflict",
    "conflict on tuple",
    "conflict on update",
    "write-write conflict",
    "quota exceeded",
    "rate limit",
    "ratelimitexceeded",
    "too many requests",
    "503",
    "too many dml statements outstanding",
    "connection reset",
    "connection aborted",
    "connection refused",
    "timed out",
    "deadline exceeded",
)


def is_transient(message: str) -> bool:
    lowered = message.lower()
    return any(pattern in lowered for pattern in TRANSIENT_ERRORS)


def raised_transient(error: Exception) -> bool:
    return is_transient(str(error))


@dataclass(frozen=True)
class Backoff:
    """The wait before try `attempt + 1`: `first_seconds`, times `growth` for each try since the
    first, times a random factor within `jitter` of 1, so that runs that met the same conflict
    do not meet again at the same moment."""

    first_seconds: float
    growth: float = 2.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        return self.first_seconds * self.growth ** (attempt - 1) * random.uniform(1 - self.jitter, 1 + self.jitter)


# waiting on another command (its lock row, its write to the same table): whose end no delay
# predicts, so asked again every second
STEADY = Backoff(1.0, growth=1.0, jitter=0.0)


def until(
    deadline: float,
    call: Callable[[], T],
    retry_on: Callable[[Exception], bool] = raised_transient,
    backoff: Backoff = STEADY,
) -> T:
    """`call()`, tried again after the backoff's delay while it raises what `retry_on` accepts
    and the deadline (time.monotonic()) has not passed; past it, what it raised last."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            if not retry_on(error) or time.monotonic() >= deadline:
                raise
        attempt += 1
        time.sleep(backoff.delay(attempt))
