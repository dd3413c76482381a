"""Thread-safe buffers between a live video callback thread and the page's script thread.

The webcam callback runs in a worker thread; Streamlit's script (which draws the chart
and the latency figures) runs in another.  They meet only here: the callback appends,
the page takes a snapshot (a copy) under the same lock, so neither ever sees a
half-written state and neither waits on the other for more than a list copy.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, Iterable, TypeVar

import numpy as np

T = TypeVar("T")


class RingBuffer(Generic[T]):
    """The last ``capacity`` items, oldest first; appends never block for long."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._items: deque[T] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._total = 0

    @property
    def capacity(self) -> int:
        return self._items.maxlen or 0

    def append(self, item: T) -> None:
        with self._lock:
            self._items.append(item)
            self._total += 1

    def extend(self, items: Iterable[T]) -> None:
        with self._lock:
            for it in items:
                self._items.append(it)
                self._total += 1

    def snapshot(self) -> list[T]:
        """A copy of the items held now, oldest first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._total = 0

    @property
    def total(self) -> int:
        """How many items were ever appended since the last :meth:`clear`."""
        with self._lock:
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class LatencyStats:
    """Per-frame processing times (ms) over a sliding window, with percentiles."""

    def __init__(self, window: int = 600) -> None:
        self._ms = RingBuffer[float](window)
        self._lock = threading.Lock()
        self.frames = 0
        self.failed_closed = 0

    def add(self, ms: float, *, failed_closed: bool = False) -> None:
        self._ms.append(float(ms))
        with self._lock:
            self.frames += 1
            self.failed_closed += bool(failed_closed)

    def summary(self) -> dict:
        """``{"frames", "failed_closed", "p50_ms", "p95_ms", "max_ms"}`` (None before any frame)."""
        ms = np.asarray(self._ms.snapshot(), dtype=float)
        with self._lock:
            frames, failed = self.frames, self.failed_closed
        if ms.size == 0:
            return {"frames": frames, "failed_closed": failed, "p50_ms": None, "p95_ms": None, "max_ms": None}
        return {
            "frames": frames,
            "failed_closed": failed,
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "max_ms": round(float(ms.max()), 2),
        }

    def reset(self) -> None:
        self._ms.clear()
        with self._lock:
            self.frames = 0
            self.failed_closed = 0
