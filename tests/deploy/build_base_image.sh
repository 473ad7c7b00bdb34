#!/usr/bin/env bash
# Build (once) a local Debian bookworm base image with python3, for hosts that
# cannot pull python:3.11-slim-bookworm from a registry (test-only input for
# docker/Dockerfile's BASE_IMAGE build argument).
#
# The image lives in podman's own store, so it is built once per machine and
# reused by every later run; the tag names its content version.
#
# Usage: build_base_image.sh [IMAGE]   (default localhost/openml-bookworm-python:1)
# Env:   CONTAINERS_CONF (podman settings), DEBIAN_MIRROR (default: the first
#        mirror apt uses on this host, else http://deb.debian.org/debian).
set -euo pipefail

image="${1:-localhost/openml-bookworm-python:1}"

if podman image exists "$image"; then
    echo "base image $image: cached"
    exit 0
fi

mirror="${DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
    mirror="$(grep -h -o -E '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
        | grep -v security | head -n 1 | awk '{print $2}' || true)"
    mirror="${mirror:-http://deb.debian.org/debian}"
fi

rootfs="$(mktemp -d /var/tmp/openml-base.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "base image $image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 20 "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"
# Keep the image small: no package lists or apt caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
tar -C "$rootfs" -c . | podman import --quiet --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "base image $image: built"
