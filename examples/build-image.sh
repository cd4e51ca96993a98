#!/bin/sh
# build-image.sh OUT.tar [REF]
#
# Builds a one-layer OCI image archive from the host's static busybox, with no registry and no
# container tooling: only coreutils, GNU tar, sha256sum and busybox itself. The archive is an
# oci-layout tar (oci-layout, index.json, blobs/sha256/...) that containerd imports directly:
#
#   examples/build-image.sh /tmp/busybox.tar
#   gitfleet image import /tmp/busybox.tar        # or: ctr -n gitfleet images import /tmp/busybox.tar
#
# The image is named REF (default gitfleet.local/busybox:1). Its layer holds /bin/busybox and one
# symlink per applet (sh, httpd, sleep, wget, ...); its config runs "/bin/busybox sh" by default.
# internal/testimage builds the same image from Go for the tests.
set -eu

out=${1:?usage: build-image.sh OUT.tar [REF]}
ref=${2:-gitfleet.local/busybox:1}
busybox=${BUSYBOX:-/usr/bin/busybox}

case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
armv7l | armv6l) arch=arm ;;
*) arch=$(uname -m) ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/rootfs
oci=$work/oci
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/root" \
	"$root/var/www" "$oci/blobs/sha256"
# Modes are set explicitly so the image does not depend on the caller's umask.
chmod 0755 "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/var" "$root/var/www"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"

# blob FILE: moves FILE into blobs/sha256/<digest> and prints "<digest> <size>".
blob() {
	size=$(wc -c <"$1" | tr -d ' ')
	digest=$(sha256sum "$1" | cut -d' ' -f1)
	mv "$1" "$oci/blobs/sha256/$digest"
	echo "$digest $size"
}

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=ustar \
	-C "$root" -cf "$work/layer.tar" bin dev etc proc root sys tmp var
set -- $(blob "$work/layer.tar")
layer_digest=$1 layer_size=$2

printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/bin/busybox"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"examples/build-image.sh"}]}' \
	"$arch" "$layer_digest" >"$work/config.json"
set -- $(blob "$work/config.json")
config_digest=$1 config_size=$2

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
	"$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
set -- $(blob "$work/manifest.json")
manifest_digest=$1 manifest_size=$2

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
	"$manifest_digest" "$manifest_size" "$ref" "$ref" "$arch" >"$oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=ustar \
	-C "$oci" -cf "$out" oci-layout index.json blobs
echo "$out: $ref (manifest sha256:$manifest_digest)"
