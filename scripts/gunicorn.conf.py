# gunicorn settings that `scripts/serve web` (`make run`, the containers) and the live-server tests
# share.
import os

from gunicorn.config import ControlSocket

# The control socket (`gunicornc`) of this instance only: gunicorn's default is one path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl), so a second instance on the host took it over and deleted it on
# exit. GUNICORN_CONTROL_SOCKET names another path; this file is read by the master, so the pid is
# the instance's.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or os.path.join(
    os.path.dirname(ControlSocket.default), f"gunicorn-{os.getpid()}.ctl"
)
#
# The access log names the path without its query string (%(U)s, not the request line %(r)s) and
# no request header: a key that a client put in the URL or the headers never reaches a log line.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'


# Under the uvicorn worker (ASGI, `make run`), uvicorn writes the access log, with the query string:
# this filter drops it there too, so the same rule holds.
def post_worker_init(worker):
    import logging

    class PathWithoutQuery(logging.Filter):
        def filter(self, record):
            args = record.args
            if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
                record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
            return True

    logging.getLogger("uvicorn.access").addFilter(PathWithoutQuery())


# prometheus-client's multiprocess mode: a web process that exits takes its live gauges
# (imagegen_sync_waits) with it; its counters stay counted.
def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
