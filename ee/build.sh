#!/usr/bin/env bash
# Build the lab's proof execution environment (ee/Containerfile) and print its name,
# localhost/microseg-ee:<hash>. The tag is a hash of everything that goes in (the Containerfile,
# ee/requirements.txt, the base image's id, the built collection's MANIFEST.json, which carries
# the checksum of every file): an existing image of that tag is reused, so a run with unchanged
# inputs needs neither pip's index nor a build. Otherwise the wheels are downloaded on the host
# with the venv's pip (podman build may have no network) and the image is built offline.
# Usage: ee/build.sh   (make ee)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$root/lab/containers.conf"
bin=${VENV_BIN:-$root/.venv/bin}
context="$root/build/ee"
# one build at a time (lab test workers may ask at once)
exec 9>/var/tmp/microseg-ee.lock
flock 9
base=$("$root/lab/image.sh" base | tail -1)
rm -rf "$context/collection"
mkdir -p "$context/collection" "$context/wheels"
"$bin/ansible-galaxy" collection build --force --output-path "$context/collection" "$root" >/dev/null
tarball=$(ls "$context"/collection/*.tar.gz)
manifest=$("$bin/python" -c 'import sys, tarfile; print(tarfile.open(sys.argv[1]).extractfile("MANIFEST.json").read().decode())' "$tarball")
hash=$({ cat "$root/ee/Containerfile" "$root/ee/requirements.txt"; podman image inspect --format '{{.Id}}' "$base"
         printf '%s' "$manifest"; } | sha256sum | cut -c1-12)
image="localhost/microseg-ee:$hash"
if podman image exists "$image"; then echo "$image"; exit 0; fi
echo "ee/build.sh: building $image" >&2
cp "$root/ee/requirements.txt" "$context/wheels/requirements.txt"
"$bin/pip" download --quiet --disable-pip-version-check --dest "$context/wheels" pip -r "$root/ee/requirements.txt" >&2
podman build --quiet --network none --build-arg "BASE_IMAGE=$base" --label "microseg.ee.inputs=$hash" \
    --label "microseg.ee.checkout=$root" -f "$root/ee/Containerfile" -t "$image" "$context" >/dev/null
# the images this checkout built before are stale now (every change of the collection makes one):
# removed, except any a container still uses (rmi refuses). Other checkouts' images stay.
for old in $(podman images --filter "label=microseg.ee.checkout=$root" --format '{{.ID}}' | sort -u); do
    [ "$old" = "$(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12)" ] || podman rmi "$old" >/dev/null 2>&1 || true
done
echo "$image"
