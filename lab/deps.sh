#!/usr/bin/env bash
# Install the Debian packages the tests and the lab need, only those missing (shellcheck is
# for ansible-test sanity, chromium renders the observe report in a test).
# `lab/deps.sh demo` installs only what `make demo` needs (podman and debootstrap for its nodes).
# `lab/deps.sh vm` installs what the VM lab needs instead (make test-vm): Vagrant, vagrant-libvirt,
# libvirt's daemon and qemu (plain emulation; KVM is not needed).
# Needs root (CI runs as root); prints the command to run otherwise.
set -euo pipefail
packages=(iproute2 iptables nftables ipset conntrack docker.io podman runc debootstrap busybox-static shellcheck chromium)
if [ "${1:-}" = demo ]; then
  packages=(podman runc debootstrap)
elif [ "${1:-}" = vm ]; then
  packages=(debootstrap vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
            qemu-system-x86 qemu-utils dnsmasq-base)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "lab/deps.sh: missing Debian packages: ${missing[*]}" >&2
  echo "run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "lab/deps.sh: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
