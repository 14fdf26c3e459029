#!/usr/bin/env bash
# Installs the system packages the tests need: the binaries the system tests
# (test/system/) run on 127.0.0.1 as child processes.
# - dnsmasq, for the DNS system tests: the `dnsmasq-base` package, the binary
#   alone, not the `dnsmasq` package, which would also install and enable a
#   system-wide DNS service.
# - etcd, for the etcd system test: the `etcd-server` package (/usr/bin/etcd;
#   the test starts its own etcd on high ports with a temporary data dir).
# On Debian/Ubuntu it installs what is missing with apt-get, as root or through
# sudo. Does nothing for a binary already installed (on PATH, or in /usr/sbin or
# /sbin), nor for one whose tests are skipped (SWITCHYARD_SKIP_DNSMASQ=1,
# SWITCHYARD_SKIP_ETCD=1). Elsewhere, install them with your package manager,
# or set the skip variables.
set -euo pipefail

installed() {
  PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1
}

packages=()
missing=()
if [ "${SWITCHYARD_SKIP_DNSMASQ:-}" != 1 ] && ! installed dnsmasq; then
  packages+=(dnsmasq-base)
  missing+=("dnsmasq (or set SWITCHYARD_SKIP_DNSMASQ=1)")
fi
if [ "${SWITCHYARD_SKIP_ETCD:-}" != 1 ] && ! installed etcd; then
  packages+=(etcd-server)
  missing+=("etcd (or set SWITCHYARD_SKIP_ETCD=1)")
fi
if [ "${#packages[@]}" -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  printf -v text '%s and ' "${missing[@]}"
  echo "apt-get is not available: install ${text% and }" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
else
  SUDO=(sudo --preserve-env=DEBIAN_FRONTEND)
fi
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${packages[@]}"
