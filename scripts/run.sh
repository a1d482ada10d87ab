#!/usr/bin/env bash
# `make run`: migrate, create a demo tenant and key, start the web server, one generation worker
# and one callback worker, print a curl command that works. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
mkdir -p var

# A local Redis is needed; start a private one when none answers and redis-server is installed.
redis_ping() { "$PY" -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$REDIS_URL" 2>/dev/null; }
pids=()
alive() { for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done; return 1; }
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # rq finishes a running job on the first signal; a second one, more than a second later, is its
  # cold shutdown. Anything still there after that is killed.
  for step in $(seq 40); do
    alive || break
    [ "$step" = 20 ] && for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT
if ! redis_ping; then
  if command -v redis-server >/dev/null; then
    port=$("$PY" -c "from urllib.parse import urlsplit; import sys; print(urlsplit(sys.argv[1]).port or 6379)" "$REDIS_URL")
    echo "no Redis at $REDIS_URL; starting redis-server on 127.0.0.1:$port (data in var/)"
    redis-server --bind 127.0.0.1 --port "$port" --dir var --save "" --appendonly no --logfile var/redis.log &
    pids+=($!)
    for _ in $(seq 50); do redis_ping && break; sleep 0.1; done
  fi
  redis_ping || { echo "Redis is not reachable at $REDIS_URL: install redis-server or set REDIS_URL" >&2; exit 1; }
fi

"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py collectstatic --noinput -v 0
demo=$("$PY" manage.py demo_tenant --json)
key=$(printf '%s' "$demo" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['api_key'])")

"$PY" manage.py run_worker &
pids+=($!)
"$PY" manage.py run_callback_worker &
pids+=($!)
# Periodic jobs (closing last month's invoices on the 1st) run on the "default" queue.
"$PY" manage.py rqworker default &
pids+=($!)
"$PY" manage.py run_scheduler &
pids+=($!)
# ASGI: each web process is one event loop (uvicorn's worker under gunicorn); a waiting client
# (/task/sync, an event stream) costs a coroutine, not a thread. See README, "Serving".
"$PY" -m gunicorn imgplatform.asgi:application -c scripts/gunicorn.conf.py --bind "127.0.0.1:$PORT" \
  --worker-class uvicorn_worker.UvicornWorker \
  --workers "${WEB_CONCURRENCY:-2}" --access-logfile - --graceful-timeout 10 &
pids+=($!)

cat <<MSG

  Web server: http://127.0.0.1:$PORT   API docs: http://127.0.0.1:$PORT/api/docs/
  Demo API key (new for this run, valid 24 h; earlier demo keys are revoked): $key

  Try it:
    curl -s http://127.0.0.1:$PORT/api/v2/task/async \\
      -H 'authorization: Token $key' -H 'content-type: application/json' \\
      -d '{"text_data": "modern architecture house", "options": {"neg_text": "grass, pool", "num_images": 3}}'
    curl -s http://127.0.0.1:$PORT/api/v2/task/<id from above> -H 'authorization: Token $key'

  Callbacks (callback_url) are signed with the project's secret: GET /api/v2/webhook-secret.
  Ctrl-C stops the server and the workers.
MSG
wait -n "${pids[@]}"
