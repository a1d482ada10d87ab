# gunicorn settings that `make run` (scripts/run.sh) and the live-server tests share.
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
