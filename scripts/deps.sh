#!/usr/bin/env bash
# Installs and starts what gitfleet needs on a Debian machine: containerd, runc, the CNI plugins,
# git, iproute2, iptables and busybox-static (for the example image), plus any Debian packages
# named as arguments (scripts/test.sh adds docker-registry and chromium, which only the tests
# use). Safe to run again.
set -euo pipefail

need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v git >/dev/null || need+=(git)
command -v ip >/dev/null || need+=(iproute2)
command -v iptables >/dev/null || need+=(iptables)
for pkg in busybox-static "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! ctr --timeout 2s version >/dev/null 2>&1; then
  echo "deps: starting containerd (log: /var/log/gitfleet-containerd.log)"
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start containerd
  else
    nohup containerd >/var/log/gitfleet-containerd.log 2>&1 &
  fi
  for _ in $(seq 1 50); do
    ctr --timeout 2s version >/dev/null 2>&1 && break
    sleep 0.2
  done
  ctr --timeout 2s version >/dev/null
fi
echo "deps: containerd $(ctr version 2>/dev/null | awk '/Server/{s=1} s&&/Version/{print $2; exit}') ready"
