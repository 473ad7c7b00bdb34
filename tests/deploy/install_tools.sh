#!/usr/bin/env bash
# Install what the deployment tests (tests/deploy) need beyond requirements-dev.txt:
#   - checkov, hadolint, yamllint in their own virtualenv (DEPLOY_TOOLS_VENV, default
#     .venv-tools): checkov's dependency tree conflicts with the project's pins;
#   - shellcheck, podman with runc, slirp4netns and debootstrap for the image test, and
#     Debian's Chromium for the dataset page's browser tests (tests/pages; Playwright drives it,
#     no browser is downloaded), from apt when running as root (CI); otherwise the tests that
#     need them say why they skip.
# Idempotent and quick when everything is there. Usage: bash tests/deploy/install_tools.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${DEPLOY_TOOLS_VENV:-$repo/.venv-tools}"
requirements="$here/requirements-tools.txt"

if [[ ! -x "$venv/bin/checkov" ]] || ! cmp -s "$requirements" "$venv/.requirements-installed"; then
    echo "install_tools: installing checkov, hadolint, yamllint into $venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$requirements"
    cp "$requirements" "$venv/.requirements-installed"
fi

missing=()
for pair in shellcheck:shellcheck podman:podman runc:runc slirp4netns:slirp4netns debootstrap:debootstrap chromium:chromium; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]} > 0)); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "install_tools: apt-get install ${missing[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    else
        echo "install_tools: not installed (needs root and apt-get): ${missing[*]}" >&2
    fi
fi
