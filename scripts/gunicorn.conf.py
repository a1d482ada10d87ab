# gunicorn settings that `make run` (scripts/run.sh) and the live-server tests share.
#
# The access log names the path without its query string (%(U)s, not the request line %(r)s) and
# no request header: a key that a client put in the URL or the headers never reaches a log line.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
