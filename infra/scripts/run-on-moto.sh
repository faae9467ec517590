#!/usr/bin/env bash
# Runs Baton locally on a moto server (real DynamoDB, SQS and SNS wire protocols) instead of
# in-process state. Installs moto if needed, starts it, runs baton-local against it, and stops
# moto when baton-local exits. Arguments go to baton-local (see `--help`).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=infra/scripts/moto.sh
source infra/scripts/moto.sh

moto_start
trap moto_stop EXIT
echo "==> moto at $MOTO_URL"
cargo run --quiet -p baton-local -- --endpoint-url "$MOTO_URL" "$@"
