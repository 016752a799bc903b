"""Argo CD operations behind the CLI: register, status, sync, verified offboarding, student tokens.

Register reads the rendered AppProject and Application files from the platform repo and upserts
exactly those objects, so git and the API agree by construction. Everything talks to Argo CD
through :class:`~kuploy_gitops.argocd.ArgoCDClient`; nothing here imports httpx.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import config, layout, tenant_spec, yamlio
from kuploy_gitops.argocd import localconfig
from kuploy_gitops.argocd.client import (
    AppState,
    ArgoCDClient,
    Connection,
    ProjectToken,
    SyncResource,
    Transport,
    WaitOutcome,
    opts_from_env,
)
from kuploy_gitops.argocd.model import DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_WAIT
from kuploy_gitops.argocd.reasons import Reason
from kuploy_gitops.errors import (
    ArgoCDError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    NotInitialisedError,
)

Obj = dict[str, Any]
Progress = Callable[[AppState], None]

MAX_TOKEN_SECONDS = 366 * 24 * 3600
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class ConnectOptions:
    """Connection flags as given on the command line (empty means: not given)."""

    server: str = ""
    insecure: bool = False
    ca_file: Path | None = None
    root_path: str = ""
    timeout: float = DEFAULT_TIMEOUT


def resolve_connection(
    repo: Path, opts: ConnectOptions, env: Mapping[str, str] | None = None
) -> Connection:
    """Where Argo CD is: ``--server``, else ``ARGOCD_SERVER``, ``ARGOCD_OPTS``, kuploy.yaml."""
    env = os.environ if env is None else env
    from_opts = opts_from_env(env)
    server = opts.server or env.get("ARGOCD_SERVER", "").strip() or from_opts.get("server", "")
    if not server:
        try:
            server = config.load_config(repo).argocd_server
        except NotInitialisedError:
            server = ""
    cli = localconfig.current_context(env) if not server else None
    if cli is not None:  # after `argocd login`: its server, as the argocd CLI would use it
        server = cli.url()
        from_opts = {"insecure": cli.insecure, "root_path": cli.root_path, **from_opts}
    if not server:
        raise ConfigError(
            "no Argo CD server given",
            hint="pass --server, set ARGOCD_SERVER, set argocd.server in kuploy.yaml, or run "
            "`argocd login`",
        )
    if opts.timeout <= 0:
        raise InvalidInputError(
            f"--timeout {opts.timeout:g} is not positive", hint="give seconds, e.g. --timeout 30"
        )
    if opts.insecure and opts.ca_file is not None:
        raise InvalidInputError(
            "--insecure and --ca-file contradict each other",
            hint="use --ca-file to trust the lab CA, or --insecure to skip verification",
        )
    if from_opts.get("plaintext") and "://" not in server:
        server = "http://" + server
    return Connection(
        server=server,
        insecure=opts.insecure or bool(from_opts.get("insecure", False)),
        ca_file=opts.ca_file,
        root_path=opts.root_path or str(from_opts.get("root_path", "")),
        timeout=opts.timeout,
    )


def connect(
    repo: Path,
    opts: ConnectOptions,
    *,
    env: Mapping[str, str] | None = None,
    transport: Transport | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> ArgoCDClient:
    """A client for the resolved server, authenticated from the environment."""
    env = os.environ if env is None else env
    conn = resolve_connection(repo, opts, env)
    extra: dict[str, Any] = {}
    if sleep is not None:
        extra["sleep"] = sleep
    if clock is not None:
        extra["clock"] = clock
    creds = localconfig.credentials_for(conn.server, env)
    return ArgoCDClient(conn, creds, transport=transport, **extra)


# ------------------------------------------------------------------------------ rendered files


def _read_object(repo: Path, rel: str, kind: str, name: str) -> Obj:
    path = repo / rel
    if not path.is_file():
        raise ConflictError(
            f"{rel} is missing", hint="run `kuploy-gitops render` and commit, then register"
        )
    obj = yamlio.load(path.read_text(encoding="utf-8"), source=rel)
    if not isinstance(obj, dict) or obj.get("kind") != kind:
        raise ConfigError(f"{rel}: expected one {kind} object", hint="run `kuploy-gitops render`")
    found = (obj.get("metadata") or {}).get("name")
    if found != name:
        raise ConfigError(
            f"{rel}: {kind} is named {found!r}, expected {name!r}",
            hint="run `kuploy-gitops render`",
        )
    return obj


def rendered_objects(repo: Path, student: str) -> tuple[Obj, list[Obj]]:
    """The student's rendered AppProject and Applications, as committed in the repo."""
    spec = tenant_spec.require_spec(repo, student)
    project_name = layout.project_name(student)
    project = _read_object(
        repo, layout.tenant_file(student, "appproject.yaml"), "AppProject", project_name
    )
    apps = []
    for app in spec.apps:
        rel = layout.application_file(student, app.name)
        obj = _read_object(repo, rel, "Application", layout.application_name(student, app.name))
        if (obj.get("spec") or {}).get("project") != project_name:
            raise ConfigError(
                f"{rel}: project is {(obj.get('spec') or {}).get('project')!r}, "
                f"expected {project_name!r}",
                hint="run `kuploy-gitops render`",
            )
        apps.append(obj)
    return project, apps


# ------------------------------------------------------------------------------ register / sync


@dataclass
class AppResult:
    """What happened to one Application in register or sync."""

    student: str
    app: str
    action: str
    outcome: WaitOutcome | None = None

    def to_data(self) -> dict[str, Any]:
        """As JSON-ready data."""
        data: dict[str, Any] = {
            "student": self.student,
            "application": self.app,
            "action": self.action,
        }
        if self.outcome is not None:
            data["result"] = self.outcome.result
            data["state"] = self.outcome.state.summary()
            data["reason"] = str(self.outcome.reason) if self.outcome.reason else ""
        return data


@dataclass
class RegisterResult:
    """The project and apps registered for one student."""

    student: str
    project: str
    apps: list[AppResult] = field(default_factory=list)


def _sync_and_wait(
    client: ArgoCDClient,
    result: AppResult,
    *,
    prune: bool,
    wait: bool,
    timeout: float,
    interval: float,
    progress: Progress | None,
    revision: str = "",
    dry_run: bool = False,
    resources: Sequence[SyncResource] = (),
) -> None:
    client.sync(result.app, prune=prune, revision=revision, dry_run=dry_run, resources=resources)
    what = "dry-run sync requested" if dry_run else "sync requested"
    result.action = f"{result.action}, {what}" if result.action else what
    if wait:
        result.outcome = client.wait(
            result.app, timeout=timeout, interval=interval, progress=progress
        )


def register(
    client: ArgoCDClient,
    repo: Path,
    students: Sequence[str] | None,
    *,
    sync: bool = False,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT,
    interval: float = DEFAULT_INTERVAL,
    progress: Progress | None = None,
) -> list[RegisterResult]:
    """Upsert each student's rendered AppProject, then its Applications; optionally sync/wait.

    ``students=None`` registers every onboarded student. All files are read (and checked)
    before the first call, so a broken file stops the command before anything changes.
    """
    if wait and not sync:
        raise InvalidInputError("--wait needs --sync", hint="add --sync")
    names = list(students) if students is not None else tenant_spec.list_students(repo)
    if not names:
        raise ConflictError(f"no students onboarded in {repo}", hint="run `kuploy-gitops onboard`")
    loaded = [(s, *rendered_objects(repo, s)) for s in names]
    results = []
    for student, project, apps in loaded:
        client.upsert_project(project)
        result = RegisterResult(student, layout.project_name(student))
        for app in apps:
            client.upsert_application(app, upsert=True, validate=True)
            result.apps.append(AppResult(student, app["metadata"]["name"], "upserted"))
        results.append(result)
    if sync:
        for result in results:
            for app_result in result.apps:
                _sync_and_wait(
                    client,
                    app_result,
                    prune=False,
                    wait=wait,
                    timeout=timeout,
                    interval=interval,
                    progress=progress,
                )
    return results


def sync(
    client: ArgoCDClient,
    repo: Path,
    student: str,
    app: str | None = None,
    *,
    prune: bool = False,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT,
    revision: str = "",
    dry_run: bool = False,
    resources: Sequence[str] = (),
    interval: float = DEFAULT_INTERVAL,
    progress: Progress | None = None,
) -> list[AppResult]:
    """Sync one app of a student, or all of them; optionally wait for each.

    ``resources`` (``GROUP:KIND:NAME``) limits the sync to those objects; ``dry_run`` asks
    Argo CD to only check the sync (nothing to wait for then).
    """
    if dry_run and wait:
        raise InvalidInputError(
            "--dry-run and --wait do not go together",
            hint="a dry run changes nothing to wait for; drop --wait",
        )
    selected = [parse_resource(r, layout.namespace_name(student)) for r in resources]
    spec = tenant_spec.require_spec(repo, student)
    if app is not None and spec.app(app) is None:
        known = ", ".join(a.name for a in spec.apps) or "none"
        raise ConflictError(f"student {student!r} has no app {app!r}", hint=f"their apps: {known}")
    names = [app] if app is not None else [a.name for a in spec.apps]
    if not names:
        raise ConflictError(f"student {student!r} has no apps", hint="add one with `app add`")
    results = []
    for name in names:
        result = AppResult(student, layout.application_name(student, name), "")
        _sync_and_wait(
            client,
            result,
            prune=prune,
            wait=wait,
            timeout=timeout,
            interval=interval,
            progress=progress,
            revision=revision,
            dry_run=dry_run,
            resources=selected,
        )
        results.append(result)
    return results


def parse_resource(text: str, namespace: str) -> SyncResource:
    """``GROUP:KIND:NAME`` (group empty for core kinds, e.g. ``:Service:web``) → SyncResource."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise InvalidInputError(
            f"--resource {text!r} is not GROUP:KIND:NAME",
            hint="e.g. apps:Deployment:web, or :Service:web for core kinds",
        )
    return SyncResource(kind=parts[1], name=parts[2], group=parts[0], namespace=namespace)


def ensure_ready(results: Sequence[AppResult]) -> None:
    """Raise ArgoCDError naming every app whose wait did not end healthy."""
    bad = [r for r in results if r.outcome is not None and r.outcome.result != "healthy"]
    if not bad:
        return
    first = bad[0]
    assert first.outcome is not None
    why = str(first.outcome.reason) if first.outcome.reason else first.outcome.state.summary()
    more = f" (and {len(bad) - 1} more apps)" if len(bad) > 1 else ""
    raise ArgoCDError(
        f"{first.app} {first.outcome.result}: {why}{more}",
        hint="see `kuploy-gitops status` for every app",
    )


# ------------------------------------------------------------------------------ status


def _last_operation(app: Mapping[str, Any]) -> str:
    op = (app.get("status") or {}).get("operationState") or {}
    phase = str(op.get("phase") or "")
    if not phase:
        return "sync requested" if app.get("operation") else "-"
    when = str(op.get("finishedAt") or op.get("startedAt") or "")
    return f"{phase} {when}".strip()


def status(
    client: ArgoCDClient, repo: Path, student: str | None = None, *, diagnose: bool = True
) -> list[dict[str, Any]]:
    """One row per app: sync, health, revision, last operation, first reason when not healthy.

    Apps a spec lists but Argo CD does not know are reported too (``registered: false``).
    """
    if student is not None:
        students = [student]
        tenant_spec.require_spec(repo, student)
        found = client.list_applications(projects=[layout.project_name(student)])
    else:
        students = tenant_spec.list_students(repo)
        selector = f"{layout.LABEL_MANAGED_BY}={layout.MANAGED_BY}"
        owned = {layout.project_name(s) for s in students}
        found = [
            a
            for a in client.list_applications(selector=selector)
            if (a.get("spec") or {}).get("project") in owned
        ]
    by_name = {str(a["metadata"]["name"]): a for a in found}
    rows: list[dict[str, Any]] = []
    expected: set[str] = set()
    for name in students:
        spec = tenant_spec.read_spec(repo, name)
        for app_spec in spec.apps if spec else ():
            app_name = layout.application_name(name, app_spec.name)
            expected.add(app_name)
            app = by_name.get(app_name)
            if app is None:
                rows.append(_missing_row(name, app_spec.name, app_name))
            else:
                rows.append(_row(client, name, app_spec.name, app, diagnose=diagnose))
    for app_name, app in sorted(by_name.items()):
        if app_name not in expected:
            owner = str(
                ((app.get("metadata") or {}).get("labels") or {}).get(
                    layout.LABEL_OWNER, (app.get("spec") or {}).get("project", "")
                )
            )
            row = _row(client, owner, "", app, diagnose=diagnose)
            leftover = "not in the repo's specs (left over? delete it or re-add the app)"
            row["reason"] = f"{leftover}; {row['reason']}" if row["reason"] else leftover
            rows.append(row)
    return rows


def app_status(client: ArgoCDClient, student: str, app: str) -> dict[str, Any]:
    """The :func:`status` row of one app, read with one call (more only when it is unhealthy).

    Asked within the student's project: Argo CD answers 404 for no such Application and 403
    for one of another project, both "not registered" for this student.
    """
    name = layout.application_name(student, app)
    try:
        obj = client.get_application(name, project=layout.project_name(student))
    except ArgoCDError as exc:
        if exc.status in (403, 404):
            return _missing_row(student, app, name)
        raise
    return _row(client, student, app, obj, diagnose=True)


def _missing_row(student: str, app: str, app_name: str) -> dict[str, Any]:
    return {
        "student": student,
        "app": app,
        "application": app_name,
        "registered": False,
        "sync": "-",
        "health": "-",
        "revision": "",
        "last_operation": "-",
        "reason": f"not registered in Argo CD: run `kuploy-gitops register {student}`",
    }


def _row(
    client: ArgoCDClient, student: str, app: str, obj: Obj, *, diagnose: bool
) -> dict[str, Any]:
    state = AppState.of(obj)
    reason: Reason | None = None
    if diagnose and not state.ready:
        reason = client.diagnose(obj)
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {
        "student": student,
        "app": app or str(labels.get(layout.LABEL_APP, "")),
        "application": state.name,
        "registered": True,
        "sync": state.sync,
        "health": state.health,
        "revision": state.revision,
        "last_operation": _last_operation(obj),
        "reason": str(reason) if reason else "",
    }


# ------------------------------------------------------------------------------ tokens


def parse_duration(text: str) -> int:
    """``30d``, ``12h``, ``90m``, ``2w``, ``3600s`` → seconds (positive, at most a year)."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InvalidInputError(
            f"--expires {text!r} is not a positive duration",
            hint="use a number and a unit s, m, h, d or w, e.g. 30d",
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_TOKEN_SECONDS:
        raise InvalidInputError(
            f"--expires {text!r} is longer than a year", hint="issue a new token each term"
        )
    return seconds


def token_plan(repo: Path, student: str, expires: str = "30d") -> tuple[str, str, int]:
    """(project, role, seconds) of the token `token` would create; checks without Argo CD.

    Raises:
        InvalidInputError: a bad duration. ConflictError: the student is not onboarded.
    """
    seconds = parse_duration(expires)
    tenant_spec.require_spec(repo, student)
    return layout.project_name(student), layout.student_role_name(), seconds


def token(client: ArgoCDClient, repo: Path, student: str, expires: str = "30d") -> ProjectToken:
    """A token for the student's project role: get/sync of their own apps only."""
    project, role, seconds = token_plan(repo, student, expires)
    token_id = f"kuploy-{secrets.token_hex(6)}"
    return client.create_project_token(
        project,
        role,
        expires_in=seconds,
        token_id=token_id,
        description=f"{student}: CI sync/refresh of own apps (kuploy-gitops token)",
    )
