#!/usr/bin/env bash
# Builds the Python package into a virtual environment, and runs its tests.
#
#   crates/vaekit-py/dev.sh install [--release]   build and install `vaekit` into $VENV
#   crates/vaekit-py/dev.sh test                  install (dev profile), then pytest
#
# VENV defaults to target/python (inside the workspace's target directory,
# which the build shares with cargo's, so the library is compiled once).
# Where Python 3.11+ or PyPI cannot be had, `test` prints why and skips.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=${VENV:-$root/target/python}
python=${PYTHON:-python3}

skip() {
  echo "vaekit-py: skipped: $1"
  exit 0
}

make_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
      return 10
    "$python" -m venv "$venv" || return 12
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r crates/vaekit-py/requirements-test.txt || return 11
}

install() {
  make_venv || return $?
  VIRTUAL_ENV=$venv PATH="$venv/bin:$PATH" \
    "$venv/bin/maturin" develop --quiet -m crates/vaekit-py/Cargo.toml "$@"
}

case "${1:-}" in
  install)
    shift
    install "$@"
    status=$?
    case $status in
      10) echo "vaekit-py: needs Python 3.11 or later ($python)"; exit 1 ;;
      12) echo "vaekit-py: $python -m venv failed (Debian: apt-get install python3-venv)"; exit 1 ;;
      11) echo "vaekit-py: pip could not install crates/vaekit-py/requirements-test.txt"; exit 1 ;;
    esac
    exit $status
    ;;
  test)
    install
    status=$?
    case $status in
      0) ;;
      10) skip "no Python 3.11 or later ($python) to build the package with" ;;
      12) skip "$python -m venv failed (Debian: apt-get install python3-venv)" ;;
      11) skip "pip could not install crates/vaekit-py/requirements-test.txt (no PyPI?)" ;;
      *) echo "vaekit-py: building the package failed"; exit $status ;;
    esac
    "$venv/bin/python" -m pytest -q crates/vaekit-py/tests
    status=$?
    if [ $status -eq 5 ]; then
      echo "vaekit-py: pytest collected no tests in crates/vaekit-py/tests"
    fi
    exit $status
    ;;
  *)
    echo "usage: crates/vaekit-py/dev.sh install [--release] | test" >&2
    exit 2
    ;;
esac
