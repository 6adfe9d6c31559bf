#!/usr/bin/env bash
# Installs what `npm run bench` needs beyond node_modules: Debian's `wrk`, the
# load generator. Run as root (CI and the project's machines are root);
# otherwise it only says which package to install.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
  echo "wrk is installed: $(command -v wrk)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "wrk is missing and this is not root: install the Debian package 'wrk' (apt-get install -y wrk)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends wrk >/dev/null
echo "installed wrk: $(command -v wrk)"
