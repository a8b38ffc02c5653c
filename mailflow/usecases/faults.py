"""A test hook: named checkpoints where the crash tests kill mailflow, so a crash lands exactly between two
steps.

MAILFLOW_CRASH_AT=NAME makes the process SIGKILL itself the first time it passes checkpoint NAME, and NAME:N
the N-th time. Unset (always, outside the crash tests) every checkpoint does nothing. The checkpoints (in
usecases/intake.py and sending.py):
after_fetch (a batch downloaded), in_batch (about to act on a mail of the batch, nothing of it committed yet),
after_commit (the batch's meaning committed), before_move (about to move mail on the server), after_250 (the
SMTP server accepted a reply, not yet marked sent).
"""

from __future__ import annotations

import os
import signal

_passed: dict[str, int] = {}


def checkpoint(name: str) -> None:
    """Die here, as a power cut would (no cleanup, no flush), when MAILFLOW_CRASH_AT names this passage."""
    wanted = os.environ.get("MAILFLOW_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
