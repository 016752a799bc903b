"""Re-pin the harness's go.mod to the Kubernetes version cluster-bootstrap installs.

Usage: ``python tests/cluster/apiserver/pin.py`` (needs Go and its module proxy).

``k8s.io/kubernetes`` is not meant to be imported: its go.mod replaces every ``k8s.io/*`` staging
module with a folder inside its own repository. Importing it works when our go.mod replaces each
of them with the published release of the same minor (``v1.X.Y`` -> ``v0.X.Y``). This script
reads the list from the kubernetes module's own go.mod, writes that replace block, and lets
``go mod tidy`` settle the rest (etcd and friends) and go.sum.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
VERSIONS = HERE.parents[2] / "cluster-bootstrap" / "group_vars" / "all" / "versions.yml"
MODULE = "kuploy-gitops/tests/cluster/apiserver"


def main() -> int:
    version = str(yaml.safe_load(VERSIONS.read_text())["kube_version"])
    staging = "v0." + version.split(".", 1)[1]
    info = json.loads(
        subprocess.run(
            ["go", "mod", "download", "-json", f"k8s.io/kubernetes@v{version}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    upstream = Path(info["GoMod"]).read_text()
    names = sorted(set(re.findall(r"^\s*(k8s\.io/\S+) => \./staging/", upstream, re.M)))
    if not names:
        print(f"no staging replacements in k8s.io/kubernetes v{version}'s go.mod", file=sys.stderr)
        return 1
    go_version = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    replaces = "\n".join(f"\t{n} => {n} {staging}" for n in names)
    (HERE / "go.mod").write_text(
        f"module {MODULE}\n\ngo {go_version.removeprefix('go')}\n\n"
        f"require k8s.io/kubernetes v{version}\n\nreplace (\n{replaces}\n)\n"
    )
    subprocess.run(["go", "mod", "tidy"], cwd=HERE, check=True)
    print(f"pinned k8s.io/kubernetes v{version} ({len(names)} staging modules at {staging})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
