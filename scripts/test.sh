#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need when it is missing,
# then checks formatting and lints and runs every test of the workspace.
#
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is missing; install Rust with rustup (https://rustup.rs)" >&2
    exit 1
fi
# rustfmt and clippy come with the default rustup profile; add them when a minimal one lacks them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
APT_UPDATED=""
apt_install() {
    if [ -z "$APT_UPDATED" ]; then
        $SUDO apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

# The browser test drives Debian's chromium through chromedriver (crm-appliance/tests/it/browser.rs).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "== installing chromium and chromium-driver for the browser test"
    apt_install chromium chromium-driver
fi

# Tools some tests run, installed under target/test-tools (crm-appliance/tests/it/tools.rs finds
# them there): axe-core from the npm registry (MPL-2.0; used as published, not vendored) for the
# accessibility checks in the browser, and openapi-spec-validator from PyPI for the OpenAPI
# document, in a virtual environment of its own.
TOOLS=target/test-tools
mkdir -p "$TOOLS"
if [ ! -f "$TOOLS/node_modules/axe-core/axe.min.js" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "== installing npm for axe-core"
        apt_install npm
    fi
    echo "== installing axe-core (npm)"
    npm install --prefix "$TOOLS" --no-audit --no-fund --silent axe-core@4
fi
if ! "$TOOLS/venv/bin/python3" -c 'import openapi_spec_validator' >/dev/null 2>&1; then
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1 \
        || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
        echo "== installing python3 and python3-venv for openapi-spec-validator"
        apt_install python3 python3-venv
    fi
    echo "== installing openapi-spec-validator (PyPI)"
    rm -rf "$TOOLS/venv"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/python3" -m pip install --quiet --disable-pip-version-check openapi-spec-validator
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "== cargo test"
cargo test --workspace --locked
