# Sourced by .ci/demo and .ci/test: creates .venv and installs cartstream with its test
# extras from PyPI; installs again only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      rm -rf .venv && "$PYTHON" -m venv .venv
    else
      echo "cartstream: error: '$PYTHON -m venv' failed; install it with: sudo apt-get install -y python3-venv" >&2
      exit 1
    fi
  fi
fi
stamp=.venv/.cartstream-installed
wanted=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "installing cartstream into .venv (first run only)"
  .venv/bin/python -m pip install -q -U pip
  # The bench extra too: the tests cover the benchmark runner and its plots.
  .venv/bin/python -m pip install -q -e ".[dev,bench]"
  echo "$wanted" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
bash .ci/build-model

# Start the local broker and Redis; stop them at exit only if this script started them.
start_infra() {
  if cartstream infra status >/dev/null 2>&1; then
    return 0
  fi
  cartstream infra up
  trap 'cartstream infra down' EXIT
}
