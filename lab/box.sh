#!/usr/bin/env bash
# Build the lab's Vagrant box for the libvirt provider, once per machine (no box can be
# downloaded here): debootstrap a Debian 12 with Debian's own kernel, systemd and sshd, the
# firewall tools and the modules the container lab lacks (IPIP, WireGuard, IPVS, dummy).
# The disk is one ext4 file system with no partition table and no bootloader: the box's
# Vagrantfile boots Debian's kernel and initrd directly (libvirt's <kernel>/<initrd>), so a
# guest `reboot` boots the same kernel again.
# Usage: lab/box.sh        Prints the box name (microseg/bookworm-lab) once it is added.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
box=microseg/bookworm-lab
packages=linux-image-cloud-amd64,initramfs-tools,systemd,systemd-sysv,udev,dbus,libpam-systemd,openssh-server,sudo
packages=$packages,python3,python3-apt,iptables,nftables,ipset,conntrack,iproute2,ifupdown,isc-dhcp-client
packages=$packages,procps,kmod,netcat-openbsd,etcd-server,etcd-client,wireguard-tools,ipvsadm
# the recipe's fingerprint (the packages, the box's Vagrantfile and this number, raised when the
# steps below change): a box built from another recipe is rebuilt
steps=1
recipe=$( (echo "$steps $packages"; cat "$here/box/Vagrantfile") | sha256sum | cut -c1-16)
cache=/var/tmp/microseg-box
if [ -f "$cache/recipe" ] && [ "$(cat "$cache/recipe")" = "$recipe" ] && vagrant box list 2>/dev/null | grep -q "^$box "; then
  echo "$box"; exit 0
fi
rm -rf "$cache"; mkdir -p "$cache"
rootfs=$(mktemp -d /var/tmp/microseg-boxroot.XXXXXX)
trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
echo "lab/box.sh: building $box (debootstrap and a kernel, a few minutes)" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" >"$rootfs.log" 2>&1 || {
  tail -20 "$rootfs.log" >&2; exit 1; }

# the node: the root file system on the virtio disk, eth0 by DHCP on libvirt's network
echo "/dev/vda / ext4 defaults 0 1" > "$rootfs/etc/fstab"
echo "vagrant-lab" > "$rootfs/etc/hostname"
printf 'auto lo\niface lo inet loopback\nallow-hotplug eth0\niface eth0 inet dhcp\n' > "$rootfs/etc/network/interfaces"
# the SSH host keys are made on each VM's first boot, not shared by every VM of the box
rm -f "$rootfs"/etc/ssh/ssh_host_*
mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
  > "$rootfs/etc/systemd/system/ssh.service.d/host-keys.conf"
echo "UseDNS no" > "$rootfs/etc/ssh/sshd_config.d/lab.conf"
# Debian's etcd service stays off: the lab starts the cluster's members itself
chroot "$rootfs" systemctl disable etcd.service >/dev/null 2>&1 || true
# the user Vagrant logs in as: Vagrant's well-known key (it puts a key of its own in at the
# first `vagrant up`), sudo without a password, as every Vagrant box has
chroot "$rootfs" useradd --create-home --shell /bin/bash vagrant
install -d -m 0700 -o 1000 -g 1000 "$rootfs/home/vagrant/.ssh"
install -m 0600 -o 1000 -g 1000 "$(dirname "$(readlink -f "$(command -v vagrant)")")/../keys/vagrant.pub" \
  "$rootfs/home/vagrant/.ssh/authorized_keys" 2>/dev/null \
  || install -m 0600 -o 1000 -g 1000 /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub \
       "$rootfs/home/vagrant/.ssh/authorized_keys"
echo "vagrant ALL=(ALL) NOPASSWD: ALL" > "$rootfs/etc/sudoers.d/vagrant"
chmod 0440 "$rootfs/etc/sudoers.d/vagrant"

# the box: a qcow2 disk, Debian's kernel and initrd, and the Vagrantfile that boots them
cp "$rootfs"/boot/vmlinuz-* "$cache/vmlinuz"
cp "$rootfs"/boot/initrd.img-* "$cache/initrd.img"
truncate -s 4G "$cache/root.raw"
mkfs.ext4 -q -F -L root -d "$rootfs" "$cache/root.raw"
qemu-img convert -c -O qcow2 "$cache/root.raw" "$cache/box.img"
rm -f "$cache/root.raw"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": 4}\n' > "$cache/metadata.json"
cp "$here/box/Vagrantfile" "$cache/Vagrantfile"
tar -C "$cache" -czf "$cache.box" metadata.json Vagrantfile box.img vmlinuz initrd.img
vagrant box add --force --name "$box" "$cache.box" >&2
# vagrant-libvirt uploads a box into the storage pool once, by name: drop the old box's copy
for volume in $(virsh --connect qemu:///system vol-list default 2>/dev/null | awk '$1 ~ /^microseg-VAGRANTSLASH-bookworm-lab_/ {print $1}'); do
  virsh --connect qemu:///system vol-delete --pool default "$volume" >/dev/null
done
rm -f "$cache.box" "$cache/box.img"
echo "$recipe" > "$cache/recipe"
echo "$box"
