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

# versitygw: an S3-compatible server for the S3 object store's tests and for running the real
# `aws cloudtrail validate-logs` against delivered trails. Pinned; built from the Go module proxy.
VERSITYGW_VERSION=v1.8.0
gobin="$(go env GOPATH)/bin"
if ! go version -m "$gobin/versitygw" 2>/dev/null | grep -q "github.com/versity/versitygw[[:space:]]*$VERSITYGW_VERSION"; then
  echo "test-deps: installing versitygw $VERSITYGW_VERSION"
  GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi
if ! command -v versitygw >/dev/null; then
  ln -sf "$gobin/versitygw" /usr/local/bin/versitygw 2>/dev/null || echo "test-deps: add $gobin to PATH for versitygw"
fi

echo "test-deps: ready"
