#!/usr/bin/env bash
# infra/schemathesis/run.sh — an outside client against the API: Schemathesis
# (pinned, from PyPI, in a virtualenv under BUILD_DIR) runs every check
# (--checks all) against the OpenAPI document the platform serves, on the
# embedded platform started here, bounded in time. Exit status is
# Schemathesis's: 0 when no check failed.
#
#   infra/schemathesis/run.sh [extra schemathesis run flags]
#
# Environment (all optional): ST_MAX_TIME (seconds of fuzzing, 180),
# ST_PORT (the gateway's port, 18580), BUILD_DIR (${TMPDIR:-/tmp}/auction-st).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../bench/lib.sh
source "$root/infra/bench/lib.sh"
version=4.32.5
dir=${BUILD_DIR:-${TMPDIR:-/tmp}/auction-st}
port=${ST_PORT:-18580}
base=http://127.0.0.1:$port
mkdir -p "$dir"

if [[ ! -x $dir/venv/bin/schemathesis ]] || [[ $("$dir/venv/bin/schemathesis" --version) != *" $version" ]]; then
	echo "schemathesis: installing $version into $dir/venv" >&2
	python3 -m venv "$dir/venv"
	"$dir/venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version"
fi

(cd "$root" && go build -o "$dir/auction" ./cmd/auction)
pid=
trap 'stop_all "$pid"' EXIT
trap 'exit 130' INT TERM
AUCTION_HTTP_ADDR=127.0.0.1:$port AUCTION_EMBEDDED_KAFKA_PORT=$((port + 12)) AUCTION_LOG_LEVEL=warn \
	"$dir/auction" run >"$dir/platform.log" 2>&1 &
pid=$!
await_ready "$base/readyz" "$pid" "$dir/platform.log" "the platform"

# A signed-in caller for the operations that need one: a demo user.
AUCTION_TOKEN=$(curl -sf -X POST "$base/v1/auth/token" -H 'Content-Type: application/json' \
	-d '{"email":"alice@example.com","password":"auction-demo"}' | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
export AUCTION_TOKEN
[[ -n $AUCTION_TOKEN ]] || { echo "schemathesis: no token for the demo user" >&2; exit 1; }

cd "$root/infra/schemathesis"
st_run() {
	"$dir/venv/bin/schemathesis" --config-file schemathesis.toml run "$base/v1/openapi.yaml" --url "$base" \
		--checks all --exclude-checks ensure_resource_availability --max-time "${ST_MAX_TIME:-180}" --workers 2 --no-color "$@" |
		tee "$dir/report.txt"
}
# A run that found no failure but stopped on an error of Schemathesis's own
# (its summary lists Errors and no Failures: e.g. Hypothesis refusing a
# test case as flaky while generating it) says nothing about the API; it is
# run once more, with another seed, and that run's verdict stands.
status=0
st_run "$@" || status=$?
if ((status != 0)) && grep -q '^Errors:' "$dir/report.txt" && ! grep -q '^Failures:' "$dir/report.txt"; then
	echo "schemathesis: the run stopped on an error of its own and found no failure; running it once more" >&2
	status=0
	st_run "$@" || status=$?
fi
exit "$status"
