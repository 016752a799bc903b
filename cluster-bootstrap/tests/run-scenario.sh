#!/usr/bin/env bash
# Run the cluster-bootstrap test scenario (lint, templates, pre-flight, join logic, the Debian
# chroot converge). Needs root for the chroot; the rootfs is cached in /var/cache/kuploy-test-rootfs.
#   cluster-bootstrap/tests/run-scenario.sh [extra pytest args]
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo_root"
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
exec python -m pytest tests/bootstrap "$@"
