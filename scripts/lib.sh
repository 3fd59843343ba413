# Shared by scripts/dev and scripts/test. Source it; do not run it.

# Fixed dummy credentials and region: DynamoDB Local keys its databases by them, and checks
# none. Anyone who can reach its port can read and write every table, which is why
# scripts/dynamodb-local binds it to 127.0.0.1 (README.md, "Run it locally").
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_dynamodb_local PORT [DBPATH]: starts it in the background on 127.0.0.1 (see
# scripts/dynamodb-local), waits until it answers, and sets DYNAMODB_PID. The caller stops it
# with stop_dynamodb_local.
start_dynamodb_local() {
  local port="$1" log="${LOG_DIR:-/tmp}/dynamodb-local-$1.log"
  "$root/scripts/dynamodb-local" run "$@" >"$log" 2>&1 &
  DYNAMODB_PID=$!
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "http://127.0.0.1:$port"; then
      return 0
    fi
    if ! kill -0 "$DYNAMODB_PID" 2>/dev/null; then
      echo "DynamoDB Local failed to start:" >&2; cat "$log" >&2; return 1
    fi
    sleep 0.2
  done
  echo "DynamoDB Local did not answer on port $port within 30 s" >&2
  return 1
}

stop_dynamodb_local() {
  if [ -n "${DYNAMODB_PID:-}" ]; then
    kill "$DYNAMODB_PID" 2>/dev/null || true
    wait "$DYNAMODB_PID" 2>/dev/null || true
    DYNAMODB_PID=
  fi
}
