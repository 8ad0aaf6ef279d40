#!/usr/bin/env bash
# ci/gha-build.sh BUILD_DIR [MESON_SETUP_ARGS...] — one GitHub Actions leg
# on a POSIX shell (Ubuntu, macOS, MSYS2): meson setup, compile, every test,
# then the per-suite counts (ci/testlog_summary.py). The same three meson
# steps as each leg of .ci/run, so a failure reproduces locally with them.
# Exit status: 0 only if the build and every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
shift
meson setup "$build" "$@"
meson compile -C "$build"
rc=0
meson test -C "$build" --print-errorlogs || rc=$?
python3 ci/testlog_summary.py "$build/meson-logs/testlog.txt" || true
exit "$rc"
