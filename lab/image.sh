#!/usr/bin/env bash
# Build a lab node image once per machine (no registry here): debootstrap a Debian minbase,
# import it into podman. Usage: lab/image.sh [base|docker|systemd|trixie]   Prints the image name.
#   base:   Kubernetes-shaped nodes - firewall tools, a real etcd (etcd-server), real BGP (bird2),
#           python3-apt (the package module installs from a local repository in the tests),
#           python3-yaml (detection parses the nodes' YAML files with PyYAML; the tests that
#           need a node without it remove it, its .deb stays in the image's apt cache)
#   docker: Docker Swarm nodes - base plus dockerd and a static busybox to import as an image
#   systemd: hosts with the distribution's own firewall daemons - base plus systemd as PID 1,
#           D-Bus, firewalld and ufw (run with --systemd=always IMAGE /sbin/init; polkitd needs
#           libpam-systemd for logind, or firewalld stays unconfigured)
#   trixie: Debian 13 nodes (newer iptables, nftables and Python than the others' Debian 12),
#           with the firewall tools and python3-yaml only
# The package list is stored in the image's label and named by its tag (KIND-HASH): an image
# built from another list is rebuilt under its own tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF="$here/containers.conf"
kind=${1:-base}
packages=tini,openssh-server,python3,python3-apt,python3-yaml,iptables,nftables,iproute2,procps,ipset,conntrack,kmod,netcat-openbsd,etcd-server,etcd-client,bird2
suite=bookworm
case "$kind" in
  base) ;;
  trixie) suite=trixie; packages=tini,python3,python3-yaml,iptables,nftables,iproute2,procps,ipset,conntrack,kmod,netcat-openbsd ;;
  docker) packages="$packages,docker.io,busybox-static" ;;
  systemd) packages="$packages,systemd,systemd-sysv,libpam-systemd,dbus,polkitd,firewalld,ufw" ;;
  *) echo "lab/image.sh: unknown image kind '$kind'; allowed: base, docker, systemd, trixie" >&2; exit 2 ;;
esac
image="localhost/microseg-lab:$kind"
# one build of an image at a time (make images builds two kinds at once; test workers may ask too)
exec 9>"/var/tmp/microseg-image-$kind.lock"
flock 9
# what the image is built from, kept in its label (Debian 12 images keep their plain package list)
recipe=$packages
[ "$suite" = bookworm ] || recipe="$suite:$packages"
# Checkouts with other package lists share this machine's podman: each recipe also has its own
# tag (KIND-HASH of the recipe), the name printed and used by the tests, so a checkout that
# rebuilds KIND from its own list does not take the image from under another's tests. KIND
# itself (molecule, lab/up.yml) is the last one built.
labelled() {
  podman image exists "$1" && [ "$(podman image inspect --format '{{ index .Labels "microseg.packages" }}' "$1" \
    2>/dev/null || true)" = "$recipe" ]
}
own="$image-$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
if labelled "$own"; then echo "$own"; exit 0; fi
if labelled "$image"; then podman tag "$image" "$own"; echo "$own"; exit 0; fi
podman image exists "$image" && echo "lab/image.sh: $image was built from other packages; building $own" >&2
rootfs=$(mktemp -d /var/tmp/microseg-rootfs.XXXXXX)
trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
echo "lab/image.sh: building $own (debootstrap, about a minute)" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" >"$rootfs.log" 2>&1 || {
  tail -20 "$rootfs.log" >&2; exit 1; }
tar -C "$rootfs" -c . | podman import --quiet --change "LABEL microseg.packages=$recipe" - "$own" >/dev/null
podman tag "$own" "$image"
echo "$own"
