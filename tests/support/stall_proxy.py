"""A TCP proxy that forwards to a server (PostgreSQL) and can be told to stall.

``stall()`` stops forwarding in both directions while keeping every socket open: the client and
the server each see a silent peer, as in a network partition or a frozen host — nothing is closed,
nothing answers. ``resume()`` forwards again; ``close()`` ends every connection.

    with StallProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
        ...
        proxy.stall()

Run as a script it serves until killed (``python tests/support/stall_proxy.py 5432``) and stalls
on SIGUSR1, resumes on SIGUSR2 — for trying it by hand against gunicorn.
"""

from __future__ import annotations

import selectors
import signal
import socket
import sys
import threading


class StallProxy:
    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1", port: int = 0):
        self.target = (target_host, target_port)
        self._listener = socket.create_server((listen_host, port))
        self.port = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="stall-proxy", daemon=True)
        self._thread.start()

    # --- control -------------------------------------------------------------------------------
    def stall(self) -> None:
        """Stop forwarding (new connections are accepted but get nothing through either)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    @property
    def stalled(self) -> bool:
        return not self._flowing.is_set()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.close()
                except OSError:
                    pass
            self._sockets.clear()

    def __enter__(self) -> StallProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- forwarding ----------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self._sockets.append(client)
        # A connection opened while stalled waits before it even reaches the server (a stalled
        # network): the client's connect succeeds, its startup message goes nowhere.
        self._flowing.wait()
        if self._closed.is_set():
            client.close()
            return
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets.append(server)
        peers = {client: server, server: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while not self._closed.is_set():
                if not self._flowing.is_set():
                    # Stalled: read nothing, send nothing, close nothing.
                    self._flowing.wait(0.05)
                    continue
                for key, _ in selector.select(timeout=0.05):
                    source = key.fileobj
                    try:
                        data = source.recv(65536)  # type: ignore[union-attr]
                    except OSError:
                        data = b""
                    if not data:
                        for sock in peers:
                            sock.close()
                        return
                    try:
                        peers[source].sendall(data)  # type: ignore[index]
                    except OSError:
                        for sock in peers:
                            sock.close()
                        return


def main() -> None:
    target_port = int(sys.argv[1]) if len(sys.argv) > 1 else 5432
    proxy = StallProxy("127.0.0.1", target_port, port=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    signal.signal(signal.SIGUSR1, lambda *_: proxy.stall())
    signal.signal(signal.SIGUSR2, lambda *_: proxy.resume())
    print(f"forwarding 127.0.0.1:{proxy.port} -> 127.0.0.1:{target_port}", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
