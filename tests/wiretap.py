"""A TCP relay on 127.0.0.1 that keeps every byte the client sends: what an eavesdropper on the wire would
read.

Tests put it between mailflow and a server to show that a password never crosses in clear.
"""

from __future__ import annotations

import socket
import threading
from typing import Self

from mailflow.testing.servers import HOST


class Wiretap:
    """Listens on `.port` and relays each connection to (`host`, `port`); `.client_bytes` is all the clients
    said."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.host = HOST
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._sent = bytearray()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def client_bytes(self) -> bytes:
        with self._lock:
            return bytes(self._sent)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener is closed
            with self._lock:
                self._sockets.append(client)  # kept at once, so that close() closes it whatever comes next
            try:
                server = socket.create_connection(self.target, timeout=30)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.append(server)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client:
                    with self._lock:
                        self._sent += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        try:
            self._listener.shutdown(
                socket.SHUT_RDWR
            )  # wakes the accept() in progress; close() alone does not
        except OSError:
            pass
        self._listener.close()
        self._acceptor.join(timeout=30)  # no connection is being set up any more: every socket is in the list
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
