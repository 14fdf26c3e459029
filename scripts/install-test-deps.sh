#!/usr/bin/env bash
# Installs the system packages the tests need: dnsmasq, which the DNS system
# tests (test/system/) run on 127.0.0.1. Debian/Ubuntu via apt-get, as root or
# through sudo; does nothing when dnsmasq is already installed. Elsewhere,
# install dnsmasq with your package manager, or set SWITCHYARD_SKIP_DNSMASQ=1.
set -euo pipefail

if command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ]; then
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
"${SUDO[@]}" apt-get install -y dnsmasq
