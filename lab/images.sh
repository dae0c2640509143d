#!/usr/bin/env bash
# Build the lab images given as arguments (lab/image.sh KIND each), two at a time: a debootstrap
# mostly waits on downloads, so two in parallel take little longer than one. Fails when any fails.
# Usage: lab/images.sh KIND [KIND ...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rc=0
while [ $# -gt 0 ]; do
    pids=()
    for kind in "$1" "${2:-}"; do
        [ -n "$kind" ] || continue
        "$here/image.sh" "$kind" >/dev/null &
        pids+=($!)
    done
    shift; [ $# -gt 0 ] && shift
    for pid in "${pids[@]}"; do
        wait "$pid" || rc=1
    done
done
exit "$rc"
