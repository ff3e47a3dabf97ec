#!/usr/bin/env bash
# Installs what cairn's tests need on a fresh Debian machine. Idempotent; CI runs it through
# `make test`. Go modules come from go.mod (pinned); system tools from Debian.
set -euo pipefail

need_apt=()
[ -x /usr/bin/aws ] || need_apt+=(awscli)   # Debian's aws CLI 2.9, called as /usr/bin/aws

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test-deps: installing ${need_apt[*]} from Debian"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "test-deps: ready"
