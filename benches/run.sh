#!/usr/bin/env bash
# Every figure of SPEC section 7 in one run: builds the release binaries, installs wrk when it
# is missing, builds (once, cached under target/bench-data/) the scale store of 1,000,000
# orders and 10,000,000 messages, and prints a table of figure, target, measured, pass/fail.
#
#   benches/run.sh            full scale (the first run builds the store: about 30 minutes)
#   benches/run.sh --quick    1/100 scale and 3-second load runs (about a minute)
#   benches/run.sh --seconds 20 --keep
#
# The table is also written to target/bench-data/run/results.md. Exit status: 0 when every
# target is met, 1 when one is not, 2 when the run itself failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "benches/run.sh: installing wrk (Debian package) for the HTTP load"
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --locked -p crm-appliance -p crm-cli -p crm-benches
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/crm-bench" "$@"
