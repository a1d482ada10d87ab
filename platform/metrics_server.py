"""`scripts/serve metrics`: /metrics for a host without a web role (a GPU worker host).

Serves what the web's /metrics serves, from the same code and with the same access rule: the
multiprocess files of every role process on this host (METRICS_DIR) and the queues. Binds
${BIND:-127.0.0.1}:${METRICS_PORT:-9100}; a scrape from another host needs BIND=0.0.0.0 and that
host in METRICS_ALLOWED_NETWORKS (or METRICS_TOKEN). Stops on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


def app(environ, start_response):
    from imgplatform import metrics

    if environ.get("PATH_INFO") != "/metrics" or not metrics.allowed(
        environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION", "")
    ):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found\n"]
    body = metrics.exposition(host=True)
    start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature of the method it replaces
        pass


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgplatform.settings")
    import django

    django.setup()
    host, port = os.environ.get("BIND", "127.0.0.1"), int(os.environ.get("METRICS_PORT", "9100"))
    server = make_server(host, port, app, server_class=WSGIServer, handler_class=_QuietHandler)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"metrics exporter listening on http://{host}:{port}/metrics", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
