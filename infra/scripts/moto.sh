#!/usr/bin/env bash
# Sourced by the test and run scripts: installs the pinned Python tools into a venv and starts or
# stops a moto server on a free loopback port.

MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0
OPENAPI_VALIDATOR_VERSION=0.9.0
JSONSCHEMA_VERSION=4.26.0
BATON_VENV=${BATON_VENV:-"$(pwd)/.venv"}
export BATON_VENV

tools_install() {
  local stamp="$BATON_VENV/.baton-tools-$MOTO_VERSION-$CFN_LINT_VERSION-$OPENAPI_VALIDATOR_VERSION-$JSONSCHEMA_VERSION"
  if [ -f "$stamp" ]; then return 0; fi
  echo "==> installing moto $MOTO_VERSION, cfn-lint $CFN_LINT_VERSION and openapi-spec-validator $OPENAPI_VALIDATOR_VERSION into $BATON_VENV"
  python3 -m venv "$BATON_VENV"
  "$BATON_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION" "jsonschema==$JSONSCHEMA_VERSION"
  touch "$stamp"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

moto_start() {
  local port log
  port=$(free_port)
  log=${MOTO_LOG:-"$(pwd)/target/moto.log"}
  mkdir -p "$(dirname "$log")"
  # moto with DynamoDB operations made atomic, as the real service applies them (see the script).
  "$BATON_VENV/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto_server.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  MOTO_URL="http://127.0.0.1:$port"
  export MOTO_URL AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  unset AWS_PROFILE AWS_SESSION_TOKEN
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request, sys; urllib.request.urlopen('$MOTO_URL/moto-api/', timeout=1)" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto exited while starting; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "moto did not answer at $MOTO_URL within 10 s; its log: $log" >&2
  return 1
}

moto_stop() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}

tools_install
