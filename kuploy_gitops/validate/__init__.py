"""Validation of the platform repo: schemas, admission emulation, kustomize builds, reports."""

from __future__ import annotations

from kuploy_gitops.validate.engine import (
    Options,
    Report,
    validate_files,
    validate_repo,
    validate_student,
)
from kuploy_gitops.validate.findings import RULES, Finding

__all__ = [
    "RULES",
    "Finding",
    "Options",
    "Report",
    "validate_files",
    "validate_repo",
    "validate_student",
]
