"""Printing findings: human text grouped by tenant, JSON for scripts, GitHub Actions annotations."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

import click

from kuploy_gitops.errors import FindingsError
from kuploy_gitops.names import printable
from kuploy_gitops.validate.findings import ERROR, PLATFORM, Finding
from kuploy_gitops.validate.run import Report


def summary(report: Report) -> str:
    """One line: counts of errors, warnings, files, objects and builds."""
    known = f", {report.known_builds} known from the render" if report.known_builds else ""
    builds = (
        f", {report.builds} kustomize build(s) ({report.cached_builds} cached{known})"
        if report.builds
        else ""
    )
    scope = f" for {len(report.tenants)} tenant(s)" if report.tenants else ""
    return (
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s){scope} in "
        f"{report.files} file(s), {report.objects} object(s){builds}; "
        f"Kubernetes schemas {report.kubernetes_version}"
    )


def to_data(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "ok": not report.errors,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "tenants": report.tenants,
        "files": report.files,
        "objects": report.objects,
        "builds": report.builds,
        "cached_builds": report.cached_builds,
        "known_builds": report.known_builds,
        "kubernetes_version": report.kubernetes_version,
        "findings": [f.to_data() for f in report.findings],
    }


def render_json(report: Report) -> str:
    """The report as a JSON document."""
    return json.dumps(to_data(report), indent=2, ensure_ascii=False)


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(f: Finding) -> str:
    """One workflow command: ``::error file=…,line=…,title=…::message``."""
    level = "error" if f.severity == ERROR else "warning"
    title = f"{f.rule}" + (f" {f.obj}" if f.obj else "")
    message = f"{f.message}. Fix: {f.fix}" if f.fix else f.message
    return (
        f"::{level} file={_gh_prop(f.file)},line={f.line},title={_gh_prop(title)}::"
        f"{_gh_data(message)}"
    )


def render_github(report: Report) -> str:
    """Every finding as an annotation, then the summary as a notice."""
    lines = [github_line(f) for f in report.findings]
    lines.append(f"::notice title=kuploy-gitops validate::{_gh_data(summary(report))}")
    return "\n".join(lines) + "\n"


def render_text(report: Report) -> str:
    """Findings grouped by tenant (file:line, Kind/name, rule id, message, fix), then the summary.

    Styled with ANSI codes (click.style); click.echo drops them where there is no colour.
    """
    lines: list[str] = []
    for tenant, group in groupby(report.findings, key=lambda f: f.tenant):
        items = list(group)
        errors = sum(1 for f in items if f.severity == ERROR)
        label = "platform" if tenant == PLATFORM else f"tenant {tenant}"
        lines.append(
            f"{click.style(label, bold=True)}: {errors} error(s), {len(items) - errors} warning(s)"
        )
        for f in items:
            mark = (
                click.style("error", fg="red")
                if f.severity == ERROR
                else click.style("warning", fg="yellow")
            )
            # Names and messages come from the student's files: one finding stays one line.
            obj = f" {printable(f.obj)}" if f.obj else ""
            rule = click.style(f"[{f.rule}]", fg="cyan")
            lines.append(
                f"  {mark} {printable(f.file)}:{f.line}{obj} {rule} {printable(f.message)}"
            )
            if f.fix:
                lines.append(f"        {click.style('fix:', dim=True)} {printable(f.fix)}")
    colour = "red" if report.errors else ("yellow" if report.warnings else "green")
    lines.append(click.style(summary(report), fg=colour))
    return "\n".join(lines)


def ensure_passed(report: Report, *, warnings_as_errors: bool = False) -> None:
    """Raise FindingsError (exit 8) when the report has errors (or warnings, when asked)."""
    failing = len(report.errors) + (len(report.warnings) if warnings_as_errors else 0)
    if failing:
        raise FindingsError(
            f"validation failed with {len(report.errors)} error(s) and "
            f"{len(report.warnings)} warning(s)",
            hint="fix the findings listed above",
        )
