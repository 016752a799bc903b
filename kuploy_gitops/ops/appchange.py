"""``app set`` and ``app show``: change an app in place (a rolling update), and describe it.

``app set`` edits the app in the tenant spec and re-renders the tenant in one commit, through
the same write flow as ``app add`` (plan, validate the change set, apply atomically). The
Deployment keeps its name and selector, so Argo CD applies the new pod template and Kubernetes
rolls it out (new pods up before old ones go), instead of ``app remove`` + ``app add``, which
deletes everything first. Every value is checked by :func:`tenant_spec.check_app`, the rule
``app add`` uses, on the tenant as it would be after the change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kuploy_gitops import app_manifests, layout, names, tenant_spec
from kuploy_gitops.config import PlatformConfig, load_config
from kuploy_gitops.errors import InvalidInputError, KuployError, UsageError
from kuploy_gitops.ops.apps import check_env_once, require_app, url_of
from kuploy_gitops.ops.writing import finish, tenant_plan, writing
from kuploy_gitops.plan import ApplyResult, FilePlan
from kuploy_gitops.sizes import SIZES
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec
from kuploy_gitops.validate.credentials import credential_kind, secret_name

MANAGED_FIELDS = ("image", "tag", "env", "unset_env", "port", "health_path", "replicas", "size")
REPO_FIELDS = ("path", "revision")
HIDDEN = "(hidden)"


def flag(name: str) -> str:
    """The command-line option of an :class:`AppChange` field (``unset_env`` → ``--unset-env``)."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class AppChange:
    """What ``app set`` changes; ``None`` (or empty) means: keep as it is.

    Platform-managed apps take ``image`` or ``tag``, ``env``/``unset_env``, ``port``,
    ``health_path``, ``replicas`` and ``size``; student-repo apps take ``path`` and ``revision``.
    """

    student: str
    app: str
    image: str | None = None
    tag: str | None = None
    env: Sequence[tuple[str, str]] = field(default_factory=tuple)
    unset_env: Sequence[str] = field(default_factory=tuple)
    port: int | None = None
    health_path: str | None = None
    replicas: int | None = None
    size: str | None = None
    path: str | None = None
    revision: str | None = None

    def given(self) -> list[str]:
        """The fields given, in declaration order."""
        return [
            f.name
            for f in fields(self)
            if f.name not in ("student", "app") and getattr(self, f.name) not in (None, (), [])
        ]


@dataclass
class AppSetResult:
    """What ``app set`` did (or would do): the write, the changes in words, warnings, the URL."""

    result: ApplyResult
    changes: list[str]
    warnings: list[str]
    url: str

    def to_data(self) -> dict[str, Any]:
        """The result for ``-o json`` (env values never appear: only their names)."""
        return {
            "summary": self.result.summary,
            "changes": self.changes,
            "changed_files": self.result.changed,
            "commit": self.result.commit,
            "pushed": self.result.pushed,
            "warnings": self.warnings,
            "url": self.url,
        }


def retag(image: str, tag: str) -> str:
    """``image`` with its tag replaced by ``tag``.

    A digest-pinned image is refused: the pin decides what runs (a new tag next to it would
    change nothing), and dropping it is not what a tag change says; ``--image`` replaces the
    whole reference instead.
    """
    if not names.IMAGE_TAG.match(tag):
        raise InvalidInputError(
            f"--tag {tag!r} is not an image tag",
            hint="letters, digits, '_', '.', '-' (at most 128, not starting with '.' or '-'), "
            "e.g. --tag sha-1a2b3c4",
        )
    ref = app_manifests.parse_image(image)
    if ref.digest:
        raise InvalidInputError(
            f"image {image!r} is pinned by digest; --tag would silently drop the pin",
            hint="give the whole reference: --image NAME:TAG or --image NAME@sha256:<digest>",
        )
    return f"{ref.name}:{tag}"


def changed_app(old: AppSpec, change: AppChange) -> AppSpec:
    """``old`` with ``change`` applied; refuses options of the other mode, and no-op input.

    Values are not checked here beyond what only ``app set`` has (``--tag``, ``--unset-env``):
    :func:`tenant_spec.check_app` checks the result as ``app add`` checks a new app.
    """
    given = change.given()
    if not given:
        raise UsageError(
            f"nothing to change for app {change.student}/{change.app}",
            hint="give at least one of --image, --tag, --env, --unset-env, --replicas, --size, "
            "--port, --health-path (--path, --revision for a student-repo app)",
        )
    if change.image is not None and change.tag is not None:
        raise UsageError(
            "--image and --tag do not go together",
            hint="--tag keeps the image's name; --image replaces the whole reference",
        )
    allowed = REPO_FIELDS if old.mode == "repo" else MANAGED_FIELDS
    wrong = [f for f in given if f not in allowed]
    if wrong and old.mode == "repo":
        raise UsageError(
            f"app {old.name!r} deploys from the student's repo: {flag(wrong[0])} does not apply",
            hint="its image, env and size live in that repo's deploy/ folder (its workflow sets "
            "the image tag on each push); here only --path and --revision change",
        )
    if wrong:
        raise UsageError(
            f"app {old.name!r} is platform-managed: {flag(wrong[0])} is for student-repo apps",
            hint="change --image/--tag, --env, --replicas, --size, --port or --health-path",
        )
    if old.mode == "repo":
        return replace(
            old,
            path=old.path if change.path is None else change.path,
            revision=old.revision if change.revision is None else change.revision,
        )
    return replace(
        old,
        image=_new_image(old.image, change),
        env=_new_env(old, change),
        port=old.port if change.port is None else change.port,
        health_path=old.health_path if change.health_path is None else change.health_path,
        replicas=old.replicas if change.replicas is None else change.replicas,
        size=old.size if change.size is None else change.size,
    )


def _new_image(image: str, change: AppChange) -> str:
    if change.tag is not None:
        return retag(image, change.tag)
    return image if change.image is None else change.image


def _new_env(old: AppSpec, change: AppChange) -> tuple[tuple[str, str], ...]:
    check_env_once(change.env)
    both = sorted({k for k, _ in change.env} & set(change.unset_env))
    if both:
        raise UsageError(
            f"env {both[0]!r} is given to both --env and --unset-env",
            hint="set it or unset it, not both",
        )
    env = dict(old.env)
    absent = sorted(set(change.unset_env) - set(env))
    if absent:
        raise InvalidInputError(
            f"--unset-env {absent[0]!r}: app {old.name!r} has no such variable",
            hint=f"its env: {', '.join(env) or 'none'} (`kuploy-gitops app show` lists it)",
        )
    for key in change.unset_env:
        del env[key]
    env.update(change.env)
    return tuple(sorted(env.items()))


def describe_changes(old: AppSpec, new: AppSpec) -> list[str]:
    """The changes in words; env variables by name only (a value may be a credential)."""
    out = [
        f"{key.replace('_', ' ')} {getattr(old, key)} -> {getattr(new, key)}"
        for key in ("image", "port", "health_path", "replicas", "size", "path", "revision")
        if getattr(old, key) != getattr(new, key)
    ]
    before, after = dict(old.env), dict(new.env)
    out += [f"env {k} set" for k in sorted(after) if k not in before]
    out += [f"env {k} changed" for k in sorted(after) if k in before and before[k] != after[k]]
    out += [f"env {k} unset" for k in sorted(before) if k not in after]
    return out


def env_warnings(
    env: Sequence[tuple[str, str]], student: str = "STUDENT", app: str = "APP"
) -> list[str]:
    """Warnings for env variables whose name says they hold a credential, naming the fix.

    Values that look like credentials are refused by the write's validation (rule
    ``secret.plaintext``, whose fix is ``secret set`` too); a name like ``API_KEY`` with an
    ordinary-looking value is let through but is still in git in plain text. Never includes a
    value.
    """
    return [
        f"env {key} looks like a secret by its name; its value is committed to git in plain "
        "text (anyone who can read the platform repo can read it): seal it instead with "
        f"`kuploy-gitops secret set {student} {app} {key}=-` and `app set {student} {app} "
        f"--unset-env {key}`"
        for key, _ in env
        if secret_name(key)
    ]


def rollout_warning(spec: TenantSpec, old: AppSpec, new: AppSpec, cfg: PlatformConfig) -> str:
    """A warning when the quota leaves no room for the extra pods a rolling update starts.

    A Deployment rolls out with maxSurge 25% (rounded up): ``ceil(replicas / 4)`` new pods start
    before old ones stop. When those do not fit the tier's quota the API server refuses them:
    the old pods keep serving but the new ones never start. Only a change of the pod template
    rolls out (a replicas change alone scales).
    """
    if new.replicas == 0 or old.replicas == 0 or replace(old, replicas=new.replicas) == new:
        return ""
    order = list(SIZES)
    bigger = max(old.size, new.size, key=order.index)
    # A stand-in app for the surge pods: the name cannot clash (app names have no '~').
    surge = replace(
        new, name=f"{new.name}~rollout", replicas=math.ceil(new.replicas / 4), size=bigger
    )
    try:
        tenant_spec.check_quota_fits(spec.with_app(surge), cfg)
    except KuployError as exc:
        return (
            f"the rolling update starts {surge.replicas} extra pod(s) first, and the tier's quota "
            f"has no room for them ({exc.message}): the old pods keep serving but the new ones "
            "will not start; lower --replicas first, or move the student to a larger tier"
        )
    return ""


def app_set(
    repo: Path, change: AppChange, *, dry_run: bool = False, push: bool = False
) -> AppSetResult:
    """Change one app in place and re-render the tenant in one commit (a rolling update).

    Raises:
        UsageError: nothing to change, or options of the other mode (exit 2).
        InvalidInputError: a value ``app add`` would refuse, or a size/replica count over the
            tier's limits or quota (exit 4); nothing is written.
        ConflictError: unknown student or app (exit 5).
    """
    names.check_student_name(change.student)
    with writing(repo, change.student) as (git, cfg):
        spec = tenant_spec.require_valid_spec(repo, change.student, cfg)
        old = require_app(spec, change.app)
        new = changed_app(old, change)
        summary = f"app {change.student}/{change.app}"
        url = url_of(cfg, change.student, change.app)
        warnings = env_warnings(change.env, change.student, change.app)
        if new == old:
            return AppSetResult(ApplyResult(summary=summary), [], warnings, url)
        new_spec = spec.with_app(new)
        tenant_spec.check_app(new_spec, new, cfg)
        changes = describe_changes(old, new)
        warning = rollout_warning(new_spec, old, new, cfg)
        fplan = FilePlan(repo)
        tenant_plan(fplan, cfg, new_spec)
        result = finish(
            git,
            cfg,
            fplan,
            f"kuploy: set app {change.app} of {change.student}: {', '.join(changes)}",
            summary=summary,
            dry_run=dry_run,
            push=push,
        )
        return AppSetResult(result, changes, [*warnings, *([warning] if warning else [])], url)


def env_view(env: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Env variables for display: a value whose name or look says credential is hidden."""
    return [
        {"name": k, "hidden": True}
        if secret_name(k) or credential_kind(v)
        else {"name": k, "value": v}
        for k, v in env
    ]


def app_show(repo: Path, student: str, app: str) -> dict[str, Any]:
    """An app as the spec and the render define it, as data for ``app show``.

    Mode, image, URL, size, env (values only where neither the name nor the value says
    credential), where its files are. Read-only; an unknown student or app is exit 5 naming the fix.
    """
    names.check_student_name(student)
    cfg = load_config(repo)
    spec = tenant_spec.require_valid_spec(repo, student, cfg)
    found = require_app(spec, app)
    data: dict[str, Any] = {
        "student": student,
        "app": app,
        "mode": found.mode,
        "url": url_of(cfg, student, app),
        "application": layout.application_name(student, app),
        "application_file": layout.application_file(student, app),
    }
    if found.mode == "repo":
        data.update(repo=found.repo, path=found.path, revision=found.revision)
        return data
    size = SIZES[found.size]
    data.update(
        image=found.image,
        port=found.port,
        health_path=found.health_path,
        replicas=found.replicas,
        size=found.size,
        resources={
            "requests": {"cpu": size.requests_cpu, "memory": size.requests_memory},
            "limits": {"cpu": size.limits_cpu, "memory": size.limits_memory},
        },
        env=env_view(found.env),
        secrets=[k for k, _ in found.secrets],  # sealed (secret set): names only
        manifests=layout.workload_dir(student, app),
    )
    return data
