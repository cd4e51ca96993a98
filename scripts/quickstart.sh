#!/usr/bin/env bash
# Sets up gitfleet on this Debian machine and runs it on a local git repository made from
# examples/manifests: installs containerd and friends if missing, builds gitfleet, builds and
# imports the example busybox image, then runs `gitfleet up` in the foreground (Ctrl-C stops it;
# the containers keep running and the next `up` adopts them).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

data=${GITFLEET_DATA_DIR:-/var/lib/gitfleet}
repo=$data/repo.git      # the repository gitfleet follows (bare, push here)
work=$data/work          # a clone of it to edit and push from

./scripts/deps.sh
go build -o bin/gitfleet ./cmd/gitfleet
mkdir -p "$data/images"
./examples/build-image.sh "$data/images/busybox.tar"

if [ ! -d "$repo" ]; then
  git init -q --bare -b main "$repo"
  rm -rf "$work"
  git clone -q "$repo" "$work" 2>/dev/null
  cp -r examples/manifests/. "$work/"
  git -C "$work" add -A
  git -C "$work" -c user.name=gitfleet -c user.email=gitfleet@localhost commit -qm "example: busybox web"
  git -C "$work" push -q origin HEAD:main
fi

# Pushes to the repository sync at once and print the plan and health as remote: lines.
bin/gitfleet hook install "$repo" --data-dir "$data" >/dev/null

cat <<MSG

gitfleet is starting. Open http://127.0.0.1:8080/ (the dashboard), and in another terminal:
  bin/gitfleet get pods -o wide --data-dir $data      # two web Pods, each with its own Pod IP
  curl http://POD_IP:8080/                             # hello from web-...
  bin/gitfleet get services -o wide --data-dir $data   # the web Service: virtual IP, node port, endpoints
To change what runs, edit and push:
  cd $work && sed -i 's/replicas: 2/replicas: 3/' web.yaml && git commit -qam scale && git push
  (the push prints the plan and waits until the Pods are healthy)
  bin/gitfleet status --data-dir $data

MSG
exec bin/gitfleet up --repo "$repo" --data-dir "$data" --http-listen 127.0.0.1:8080
