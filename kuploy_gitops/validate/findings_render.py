"""Rules of rendering: Helm charts and jsonnet files that Argo CD renders before it syncs.

Registered in the catalogue of :mod:`.findings`, which re-exports these names.
"""

from __future__ import annotations

from kuploy_gitops.validate.finding_types import ERROR
from kuploy_gitops.validate.finding_types import rule as _rule

RENDER_HELM_UNAVAILABLE = _rule(
    "render.helm-unavailable",
    ERROR,
    "An app folder is a Helm chart (a Chart.yaml at its top) and no Helm 3 binary is installed.",
    "Argo CD renders the chart with `helm template`; without helm, what it deploys cannot be "
    "checked, and passing it unchecked would hide a privileged pod.",
    'Install the pinned Helm (docs/validation.md, "Helm binary") and put it on PATH or in '
    "$KUPLOY_HELM.",
)
RENDER_HELM_FAILED = _rule(
    "render.helm-failed",
    ERROR,
    "`helm template` fails on the chart, or its dependencies are not vendored in charts/.",
    "Argo CD's repo-server fails the same way (the Application shows ComparisonError); "
    "dependencies it would download are outside what the student's repository holds.",
    "Run `helm template <folder>` and fix the error it prints; vendor dependencies with "
    "`helm dependency build` and commit charts/.",
)
RENDER_JSONNET_FAILED = _rule(
    "render.jsonnet-failed",
    ERROR,
    "A top-level .jsonnet file of a plain-directory app does not evaluate to an object or a "
    "list of objects (a syntax or runtime error, or an import outside the repository).",
    "Argo CD evaluates every top-level .jsonnet file and fails the whole app on an error.",
    "Run `jsonnet <file>` and fix the error; import only files of your own repository.",
)
