"""What the tests' local servers (kube_emulator, qdrant_standin) share: a socketserver served from a daemon
thread on a loopback address, and stopped cleanly."""
import threading


class LoopbackService:
    """Base for a local test server: ``start()`` builds the socketserver and hands it to ``_serve``."""

    host = "127.0.0.1"
    port = 0
    tls = None
    _server = None
    _thread = None

    def _serve(self, server, name, poll_interval):
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval},
                                        name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        raise NotImplementedError

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host, self.port)
