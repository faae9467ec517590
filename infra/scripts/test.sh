#!/usr/bin/env bash
# Runs every test of Baton: the template lint, the OpenAPI document check, unit tests, adapter tests on moto, the
# end-to-end tests through the local runner on moto, and the dashboard and the form snippet in headless Chromium.
#
# Installs what it needs (a Python venv in .venv with pinned moto and cfn-lint; Debian's chromium
# and Node.js when missing; playwright-core in tests/browser), starts moto on a free loopback
# port, runs everything, and stops moto, whatever happens.
# Extra arguments go to the test runner (for example a test name filter).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=infra/scripts/moto.sh
source infra/scripts/moto.sh

echo "==> cfn-lint template.yaml"
"$BATON_VENV/bin/cfn-lint" template.yaml

echo "==> openapi-spec-validator infra/api/openapi.json"
"$BATON_VENV/bin/openapi-spec-validator" infra/api/openapi.json

echo "==> openapi-spec-validator infra/api/admin.openapi.json"
"$BATON_VENV/bin/openapi-spec-validator" infra/api/admin.openapi.json

echo "==> the default ruleset against its JSON Schema"
"$BATON_VENV/bin/python" - <<'PY'
import json, tomllib, jsonschema
schema = json.load(open("shared/domain/src/rules/ruleset.schema.json"))
document = tomllib.load(open("shared/domain/src/rules/default.toml", "rb"))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.Draft202012Validator(schema).validate(document)
print("default.toml is valid against ruleset.schema.json")
PY

echo "==> Chromium, Node.js and playwright-core for the browser tests"
missing=()
command -v "${BATON_CHROMIUM:-/usr/bin/chromium}" >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${missing[@]}" >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)

moto_start
trap moto_stop EXIT
export BATON_TEST_AWS_ENDPOINT="$MOTO_URL"

echo "==> tests (moto at $MOTO_URL)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
