#!/usr/bin/env bash
# Installs the system packages the tests need: the dnsmasq binary, which the
# DNS system tests (test/system/) run on 127.0.0.1 as a child process. On
# Debian/Ubuntu it installs the `dnsmasq-base` package with apt-get, as root or
# through sudo: the binary alone, not the `dnsmasq` package, which would also
# install and enable a system-wide DNS service. Does nothing when dnsmasq is
# already installed (on PATH, or in /usr/sbin or /sbin). Elsewhere, install
# dnsmasq with your package manager, or set SWITCHYARD_SKIP_DNSMASQ=1.
set -euo pipefail

if PATH="$PATH:/usr/sbin:/sbin" command -v dnsmasq >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "dnsmasq is missing and apt-get is not available: install dnsmasq, or set SWITCHYARD_SKIP_DNSMASQ=1" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
else
  SUDO=(sudo --preserve-env=DEBIAN_FRONTEND)
fi
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends dnsmasq-base
