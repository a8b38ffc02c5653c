"""Reading a secret when a connection needs it: from an environment variable, or from a command that prints it
(as mbsync's PassCmd does). The secret itself is never logged, shown in an error, or kept beyond its use.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from mailflow.errors import ConfigError
from mailflow.settings import Secret


def reveal(secret: Secret, key: str = "password") -> str:
    """Read the secret now. Raises ConfigError, never showing the secret, when it cannot be had.

    `key` is the config key without its `_env`/`_command` ending ("imap.password"), for the message. Of a
    command only the program is named: its arguments may hold the secret itself.
    """
    if secret.env:
        value = os.environ.get(secret.env)
        if not value:
            raise ConfigError(
                f"{key}_env: the environment variable {secret.env} is not set or empty; export it before "
                "starting mailflow (a service: put it in the unit's EnvironmentFile)"
            )
        return value
    if secret.command:
        try:
            words = shlex.split(secret.command)
        except ValueError:
            raise ConfigError(f"{key}_command: a quote is not closed; check the command's quoting") from None
        if not words:
            raise ConfigError(f"{key}_command is empty; give a command that prints the secret")
        noun = "token" if key.endswith("token") else "password"
        where = f"{key}_command: the {noun} command {words[0]!r}"
        try:
            done = subprocess.run(words, capture_output=True, timeout=60, check=False)
        except FileNotFoundError:
            raise ConfigError(f"{where} was not found; give its full path, or install it") from None
        except PermissionError:
            raise ConfigError(f"{where} cannot be run (permission denied); make it executable") from None
        except subprocess.TimeoutExpired:
            raise ConfigError(
                f"{where} did not finish within 60 seconds; does it wait for a passphrase or a prompt?"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{where} could not run ({exc.strerror or type(exc).__name__})") from None
        if done.returncode != 0:
            # Its output is never shown: it may be the secret. Running it by hand shows what went wrong.
            code = done.returncode
            status = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            raise ConfigError(f"{where} {status}; run it by hand as the mailflow user to see why")
        value = done.stdout.decode("utf-8", "replace").rstrip("\r\n")
        if not value:
            raise ConfigError(f"{where} printed nothing; it must print the secret on its standard output")
        return value
    return ""
