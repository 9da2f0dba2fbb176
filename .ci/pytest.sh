#!/usr/bin/env bash
# Run the whole suite; pytest's exit 5 ("no tests collected") is a failure here, not a pass.
set -uo pipefail
mkdir -p test-artifacts
.venv/bin/ruff check . || exit 1
.venv/bin/pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
