#!/usr/bin/env bash
# Start or stop what libvirt needs on a machine without systemd, for the lab's VMs.
#   lab/libvirt.sh up     start virtlogd and libvirtd (if not running), define the storage pool
#   lab/libvirt.sh down   remove the lab's VMs (microseg-lab-*), their volumes and
#                         vagrant-libvirt's network, then stop the daemons this script started
# The machine is a container: qemu runs as root without cgroups, namespaces or a security
# driver (qemu.conf), which is what libvirt falls back to anyway where those are missing.
set -euo pipefail
action=${1:-up}
run=/run/microseg-libvirt
virsh() { command virsh --connect qemu:///system "$@"; }

up() {
  mkdir -p "$run" /var/lib/libvirt/images /var/log/libvirt/qemu
  if ! grep -q "^# microseg lab" /etc/libvirt/qemu.conf; then
    cat >> /etc/libvirt/qemu.conf <<'EOF'
# microseg lab (lab/libvirt.sh): qemu as root, no cgroups, namespaces or security driver
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
EOF
  fi
  if ! pgrep -x virtlogd >/dev/null; then virtlogd --daemon; touch "$run/virtlogd"; fi
  if ! pgrep -x libvirtd >/dev/null; then
    libvirtd --daemon --listen=0 >/dev/null 2>&1 || libvirtd --daemon
    touch "$run/libvirtd"
  fi
  for _ in $(seq 1 50); do virsh version >/dev/null 2>&1 && break; sleep 0.2; done
  virsh version >/dev/null
  if ! virsh pool-info default >/dev/null 2>&1; then
    virsh pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
    virsh pool-start default >/dev/null
  fi
  case "$(virsh pool-info default)" in *running*) ;; *) virsh pool-start default >/dev/null ;; esac
}

down() {
  virsh version >/dev/null 2>&1 || return 0
  for domain in $(virsh list --all --name | grep '^microseg-lab-' || true); do
    virsh destroy "$domain" >/dev/null 2>&1 || true
    virsh undefine "$domain" --remove-all-storage >/dev/null 2>&1 || true
  done
  for volume in $(virsh vol-list default 2>/dev/null | awk '$1 ~ /^microseg-lab-/ {print $1}'); do
    virsh vol-delete --pool default "$volume" >/dev/null 2>&1 || true
  done
  if virsh net-info vagrant-libvirt >/dev/null 2>&1; then
    virsh net-destroy vagrant-libvirt >/dev/null 2>&1 || true
    virsh net-undefine vagrant-libvirt >/dev/null 2>&1 || true
  fi
  if [ -e "$run/libvirtd" ]; then pkill -x libvirtd || true; rm -f "$run/libvirtd"; fi
  if [ -e "$run/virtlogd" ]; then pkill -x virtlogd || true; rm -f "$run/virtlogd"; fi
}

case "$action" in
  up) up ;;
  down) down ;;
  *) echo "lab/libvirt.sh: unknown action '$action'; allowed: up, down" >&2; exit 2 ;;
esac
