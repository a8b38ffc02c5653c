"""Serving the web page with waitress, a production WSGI server in pure Python: `mailflow web`.

The coordinator's password is read once at the start (from the environment or a command, as the mail
passwords) and kept only as a hash. SIGTERM and Ctrl-C stop the server gracefully.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
from collections.abc import Callable
from types import FrameType

from waitress.server import create_server

from mailflow.adapters.secrets import reveal
from mailflow.settings import LOOPBACK_HOSTS, Web
from mailflow.usecases.context import App
from mailflow.web.app import create_app
from mailflow.web.security import Password

log = logging.getLogger(__name__)

THREADS = 4  # requests served at once; one coordinator, now and then a colleague


def serve(app: App, settings: Web, clock: Callable[[], dt.datetime]) -> int:
    """Serve until SIGTERM or Ctrl-C. Raises ConfigError when the password cannot be read."""
    password = Password(reveal(settings.password, "web.password"))
    web = create_app(app, password, clock, settings=settings)
    proxy: dict[str, object] = {}
    if settings.trusted_proxy:
        # Only the proxy's own connections may say who the client is and that it came over TLS.
        proxy = {
            "trusted_proxy": settings.trusted_proxy,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
        }
    server = create_server(
        web,
        host=settings.host,
        port=settings.port,
        threads=THREADS,
        ident="mailflow",
        clear_untrusted_proxy_headers=True,
        **proxy,  # type: ignore[arg-type]
    )
    if settings.host not in LOOPBACK_HOSTS:
        log.warning(
            "the web page listens on %s, not only on this machine: reach it through a proxy with TLS",
            settings.host,
        )
    log.info("the web page is at http://%s:%s/", _shown(settings.host), settings.port)
    signal.signal(signal.SIGTERM, _stop)
    server.run()  # returns when SIGTERM or Ctrl-C ends the loop (waitress catches SystemExit there)
    log.info("the web page stopped")
    return 0


def _stop(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
