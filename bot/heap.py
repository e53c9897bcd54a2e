"""The garbage collector, tuned for a long-running bot.

Once the bot is up, its heap is mostly what lives as long as the process: the knowledge base, its
indexes, compiled patterns, imported modules (some 90,000 objects). With CPython's default settings,
a full collection walked all of them every few hundred updates (~50 ms of CPU each on the shared
development machine, the event loop stopped: a latency spike for every update waiting), and a young
collection ran every few updates, each walking whatever the updates in hand had alive at that moment
(~0.15 ms of CPU per update in all, measured with gc.callbacks in benchmarks/telegram_throughput.py).

`settle()` moves what exists at start-up into the collector's permanent generation (gc.freeze), so
later collections only look at what handling updates allocates, and lets 10,000 (not 700) new
container objects build up before a young collection. Handling an update leaves almost nothing for the
collector (reference counting frees it), so the heap does not grow: the benchmark's process tracks
~2,500 objects after 3,500 updates either way. Nothing is freed later than before except objects in a
reference cycle, which wait a little longer.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # CPython's default is 700


def settle() -> None:
    """Call once, when the bot has started (knowledge base loaded, channels connected)."""
    gc.collect()  # what start-up left as garbage goes now, not into the permanent generation
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
