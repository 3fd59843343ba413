# Shared by the scripts (dev, test, validate-template, schemathesis, test-clients, bench, plot).
# Source it, after setting $root to the repository root; do not run it.

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

# start_dev_server STATE_DIR [NAME]: builds the dev server and starts it in the background on
# a free port over a fresh table (NAME-<time>-<pid>, default NAME `dev`) at
# $DYNAMODB_ENDPOINT, with its own keys and admin token (tenant `dev`, every scope) in
# STATE_DIR: STATE_DIR/admin-token, log STATE_DIR/dev-server.log. Waits until it answers, then
# sets DEV_SERVER_URL and DEV_SERVER_PID. The caller stops it with stop_dev_server.
start_dev_server() {
  local state="$1" name="${2:-dev}" port
  # --workspace: the features the test build unified, so nothing is rebuilt.
  (cd "$root" && cargo build --quiet --workspace --bin dev-server)
  port="$(free_port)"
  (
    umask 077
    export AWS_ENDPOINT_URL_DYNAMODB="$DYNAMODB_ENDPOINT" PORT="$port" DEV_STATE_DIR="$state"
    TABLE_NAME="$name-$(date +%s)-$$"
    CURSOR_KEYS="$(head -c 32 /dev/urandom | base64)"
    TOKEN_HASH_KEY="$(head -c 32 /dev/urandom | base64)"
    export TABLE_NAME CURSOR_KEYS TOKEN_HASH_KEY
    exec "$root/target/debug/dev-server"
  ) >"$state/dev-server.log" 2>&1 &
  DEV_SERVER_PID=$!
  DEV_SERVER_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do
    if [ -s "$state/admin-token" ] && curl -s -o /dev/null "$DEV_SERVER_URL/"; then
      return 0
    fi
    if ! kill -0 "$DEV_SERVER_PID" 2>/dev/null; then
      echo "the dev server failed to start:" >&2; cat "$state/dev-server.log" >&2; return 1
    fi
    sleep 0.2
  done
  echo "the dev server did not answer on $DEV_SERVER_URL within 30 s" >&2
  return 1
}

stop_dev_server() {
  if [ -n "${DEV_SERVER_PID:-}" ]; then
    kill "$DEV_SERVER_PID" 2>/dev/null || true
    wait "$DEV_SERVER_PID" 2>/dev/null || true
    DEV_SERVER_PID=
  fi
}

# ensure_python_tools PACKAGE...: the PyPI tools the scripts run, in the repository's own
# virtualenv ${VENV:-.venv} (created if missing; a relative VENV is taken from the root).
# Only the packages whose executable is missing are installed, so once they are there this
# costs nothing. A pinned PACKAGE==VERSION is installed unless exactly that version is there
# (scripts/test-clients pins its code generators, so a new release cannot change the code
# it tests). Sets VENV_BIN to the virtualenv's bin/. The packages the scripts use:
# cfn-lint, aws-sam-cli (runs as `sam`), openapi-spec-validator, schemathesis (all four for
# scripts/test), matplotlib (scripts/plot; a library, checked by importing it), and
# openapi-python-client and openapi-generator-cli (scripts/test-clients).
ensure_python_tools() {
  local venv="${VENV:-.venv}" package missing=()
  [[ "$venv" == /* ]] || venv="$root/$venv"
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating a Python virtualenv in $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
  fi
  for package in "$@"; do
    case "$package" in
      *==*) "$venv/bin/python" -c \
          'import sys, importlib.metadata as m; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' \
          "${package%%==*}" "${package#*==}" 2>/dev/null ;;
      aws-sam-cli) [[ -x "$venv/bin/sam" ]] ;;
      matplotlib) "$venv/bin/python" -c 'import matplotlib' 2>/dev/null ;;
      ziglang) "$venv/bin/python" -c 'import ziglang' 2>/dev/null ;;
      *) [[ -x "$venv/bin/$package" ]] ;;
    esac || missing+=("$package")
  done
  if ((${#missing[@]})); then
    if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
      echo "$venv has no pip: remove it and make sure \`${PYTHON:-python3} -m venv\` works" \
        "(Debian and Ubuntu: the python3-venv package)" >&2
      return 1
    fi
    echo "installing ${missing[*]} into $venv (pip)" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
  fi
  VENV_BIN="$venv/bin"
}
