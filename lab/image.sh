#!/usr/bin/env bash
# Build a lab node image once per machine (no registry here): debootstrap a Debian minbase,
# import it into podman. Usage: lab/image.sh [base|docker]   Prints the image name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF="$here/containers.conf"
kind=${1:-base}
packages=python3,iptables,nftables,iproute2,procps,ipset,conntrack,kmod,netcat-openbsd
case "$kind" in
  base) ;;
  docker) packages="$packages,docker.io,busybox-static" ;;
  *) echo "lab/image.sh: unknown image kind '$kind'; allowed: base, docker" >&2; exit 2 ;;
esac
image="localhost/microseg-lab:$kind"
if podman image exists "$image"; then echo "$image"; exit 0; fi
rootfs=$(mktemp -d /var/tmp/microseg-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "lab/image.sh: building $image (debootstrap, about a minute)" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" >"$rootfs.log" 2>&1 || {
  tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
tar -C "$rootfs" -c . | podman import --quiet - "$image" >/dev/null
echo "$image"
