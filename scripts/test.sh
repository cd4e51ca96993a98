#!/usr/bin/env bash
# Runs every test of gitfleet against the real parts: embedded etcd, containerd, git, CNI.
# Needs root (containers, network namespaces). Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also pull an image from a registry they run on loopback (docker-registry), and drive
# the dashboard in a headless browser (chromium).
./scripts/deps.sh docker-registry chromium
export GITFLEET_REQUIRE_CONTAINERD=1
go vet ./...
go test -race -count=1 -timeout 30m "$@" ./...
