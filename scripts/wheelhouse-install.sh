#!/usr/bin/env bash
# Install ceremony on the air-gapped laptop from this folder only (copied here as install.sh by
# scripts/wheelhouse; the template lives in the repository as scripts/wheelhouse-install.sh).
#
# Usage: ./install.sh [VENV]   (a new venv; default ./ceremony-venv; PYTHON=... picks the interpreter)
#
# Nothing is fetched from any network (PCI DSS 3.6/3.7: the ceremony laptop stays offline):
#   1. every file is checked against SHA256SUMS (catches a corrupted or altered USB stick);
#   2. pip runs with --no-index, this folder as its only source, no pip config file and no PIP_* variable
#      (--isolated), and --require-hashes against bundle.lock, so it installs these exact wheels or nothing.
# Then `ceremony --version` proves the install works. Needs CPython 3.11 on Linux x86_64 (the wheels are
# built for it) with the venv module (Debian/Ubuntu: python3.11-venv).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-./ceremony-venv}"
PY="${PYTHON:-python3}"
# Filled in by scripts/wheelhouse: the oldest glibc the bundle's wheels run on (its WHEELHOUSE_GLIBC).
GLIBC_FLOOR="@GLIBC_FLOOR@"

die() {
    echo "install.sh: $*" >&2
    exit 1
}

for needed in bundle.lock SHA256SUMS; do
    [ -f "$HERE/$needed" ] || die "$needed is missing from $HERE: copy the whole wheelhouse folder"
done
echo "install.sh: checking every file against SHA256SUMS" >&2
if ! checked="$(cd "$HERE" && sha256sum --strict -c SHA256SUMS 2>&1)"; then
    printf '%s\n' "$checked" | grep -v ': OK$' >&2 || true # name only the files that failed
    die "a file in $HERE does not match SHA256SUMS: the bundle is damaged or altered; do not install"
fi

command -v "$PY" >/dev/null 2>&1 || die "no $PY found: install CPython 3.11 or set PYTHON=/path/to/python3.11"
"$PY" - <<'EOF' || die "$PY is not CPython 3.11 on Linux x86_64, which these wheels are built for"
import platform, sys
ok = (sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11)
      and sys.platform == "linux" and platform.machine() == "x86_64")
sys.exit(0 if ok else 1)
EOF
"$PY" - "$GLIBC_FLOOR" <<'EOF' || die "this laptop's C library is older than glibc $GLIBC_FLOOR, which these wheels need"
import os, sys
floor = sys.argv[1]
if floor.startswith("@"):  # the template itself, not a built bundle: nothing to compare against
    sys.exit(0)
libc, _, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
have = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
sys.exit(0 if libc == "glibc" and have >= tuple(int(part) for part in floor.split(".")) else 1)
EOF

# Always a new venv: pip would keep an installed ceremony of the same version number even if this bundle's
# wheel differs, so installing over an old venv could leave old code running.
if [ -e "$VENV" ] || [ -L "$VENV" ]; then
    die "$VENV already exists: remove it first (or give another path); the install always makes a new venv"
fi
echo "install.sh: creating venv $VENV" >&2
"$PY" -m venv "$VENV" || die "could not create a venv with $PY (Debian/Ubuntu: install python3.11-venv)"

echo "install.sh: installing from $HERE (no network)" >&2
if ! PIP_CONFIG_FILE=/dev/null "$VENV/bin/python" -m pip --isolated install \
    --disable-pip-version-check --no-cache-dir --no-index --find-links "$HERE" \
    --only-binary=:all: --require-hashes -r "$HERE/bundle.lock"; then
    rm -rf -- "$VENV" # made above by this script: leave no half-installed venv behind
    die "pip refused the bundle (see above); nothing was installed and nothing fetched from a network"
fi

"$VENV/bin/ceremony" --version
echo "install.sh: done; run $VENV/bin/ceremony" >&2
