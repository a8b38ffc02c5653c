"""Reading a secret when a connection needs it: from an environment variable, or from a command that prints it
(as mbsync's PassCmd does). The secret itself is never logged, shown in an error, or kept beyond its use.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from mailflow.errors import ConfigError
from mailflow.settings import Secret


def reveal(secret: Secret) -> str:
    """Read the secret now. Raises ConfigError, never showing the secret, when it cannot be had."""
    if secret.env:
        value = os.environ.get(secret.env)
        if not value:
            raise ConfigError(f"environment variable {secret.env} is not set")
        return value
    if secret.command:
        try:
            done = subprocess.run(shlex.split(secret.command), capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"password command could not run: {type(exc).__name__}") from None
        if done.returncode != 0:
            raise ConfigError(f"password command exited with status {done.returncode}")
        value = done.stdout.decode("utf-8", "replace").rstrip("\r\n")
        if not value:
            raise ConfigError("password command printed nothing")
        return value
    return ""
