"""``secret set``, ``secret list`` and ``secret unset``: a managed app's sealed secret.

``secret set`` seals each value offline with the Sealed Secrets controller's public certificate
(committed at :data:`layout.SEALED_SECRETS_CERT`) for the app's SealedSecret ``<app>-secrets``
in the student's namespace (strict scope: it opens nowhere else), keeps the sealed values in
the tenant spec and re-renders the tenant in one commit, through the write flow every change
uses. Each key is sealed on its own, so keys not named keep their sealed values.

Plain values exist only in memory here: they never reach a message, a result, the commit
message or a file. Results name keys, never values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kuploy_gitops import layout, names, tenant_spec
from kuploy_gitops.config import PlatformConfig, load_config
from kuploy_gitops.errors import ConfigError, InvalidInputError, UsageError
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.ops.apps import require_app
from kuploy_gitops.ops.writing import finish, tenant_plan, writing
from kuploy_gitops.plan import ApplyResult, FilePlan
from kuploy_gitops.tenant_spec import AppSpec

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

MAX_VALUE_BYTES = 64 * 1024  # a Secret holds 1 MiB in all; a value this big is a mistake
STDIN = "-"


@dataclass
class SecretResult:
    """What a secret command did (or would do): the write and the keys, never a value."""

    result: ApplyResult
    secret: str
    changes: list[str]
    keys: list[str]

    def to_data(self) -> dict[str, Any]:
        """The result for ``-o json``."""
        return {
            "summary": self.result.summary,
            "secret": self.secret,
            "changes": self.changes,
            "keys": self.keys,
            "changed_files": self.result.changed,
            "commit": self.result.commit,
            "pushed": self.result.pushed,
        }


def fetch_cert_command(cfg: PlatformConfig) -> str:
    """The command that writes the controller's certificate where ``secret set`` reads it."""
    return (
        f"kubeseal --fetch-cert --controller-namespace {controller_namespace(cfg)} "
        f"--controller-name {layout.SEALED_SECRETS_CONTROLLER} > {layout.SEALED_SECRETS_CERT}"
    )


def controller_namespace(cfg: PlatformConfig) -> str:
    """Where the platform installs the controller (its add-on's namespace).

    Raises:
        ConfigError: kuploy.yaml has no Sealed Secrets add-on (exit 3).
    """
    for addon in cfg.addons:
        if addon.chart == layout.SEALED_SECRETS_ADDON:
            return addon.namespace
    raise ConfigError(
        f"{layout.CONFIG_FILE} has no Sealed Secrets add-on (addons.{layout.SEALED_SECRETS_ADDON})",
        hint=f"copy addons.{layout.SEALED_SECRETS_ADDON} from a new `kuploy-gitops init`'s "
        "kuploy.yaml, render and sync it, then fetch its certificate",
    )


def load_cert(repo: Path, cfg: PlatformConfig) -> RSAPublicKey:
    """The controller's public key, from the certificate committed in the platform repo.

    Raises:
        ConfigError: no add-on, no certificate (naming the path and the command that fetches
            it), or a file that is no RSA certificate (exit 3).
    """
    from kuploy_gitops import sealing  # cryptography: only the secret commands need it

    command = fetch_cert_command(cfg)
    path = repo / layout.SEALED_SECRETS_CERT
    if not path.is_file():
        raise ConfigError(
            f"no Sealed Secrets certificate at {layout.SEALED_SECRETS_CERT}",
            hint=f"fetch it once after bootstrap and commit it: {command}",
        )
    return sealing.load_certificate(path.read_bytes(), layout.SEALED_SECRETS_CERT)


def parse_values(
    assignments: Sequence[str], files: Sequence[str], read_stdin: Callable[[], bytes]
) -> dict[str, bytes]:
    """``NAME=VALUE`` arguments (``NAME=-``: the value is stdin) and ``--from-file NAME=PATH``.

    A value from stdin loses one trailing newline (what ``echo`` or typing adds); a file's
    bytes are taken as they are. Errors name the argument's position or the key, never a value.

    Raises:
        InvalidInputError: an argument without ``=``, an invalid or repeated name, stdin named
            twice, an unreadable file, an empty or oversized value (exit 4).
    """
    out: dict[str, bytes] = {}
    stdin_used = False

    def add(name: str, value: bytes) -> None:
        tenant_spec.check_secret_key(name)
        if name in out:
            raise InvalidInputError(f"secret {name!r} is given twice", hint="give each name once")
        if not value:
            raise InvalidInputError(
                f"secret {name!r} is empty", hint="give a value, or remove it with secret unset"
            )
        if len(value) > MAX_VALUE_BYTES:
            raise InvalidInputError(
                f"secret {name!r} is over {MAX_VALUE_BYTES // 1024} KiB",
                hint="keep large files out of env variables (mount them from a volume instead)",
            )
        out[name] = value

    for i, text in enumerate(assignments, start=1):
        name, sep, value = text.partition("=")
        if not sep or not name:
            # The argument itself is not echoed: it may be a value typed without its name.
            raise InvalidInputError(
                f"argument {i} after APP is not NAME=VALUE",
                hint="e.g. API_KEY=- (then type the value) or API_KEY=value",
            )
        if value == STDIN:
            if stdin_used:
                raise InvalidInputError(
                    f"secret {name!r}: only one value can come from stdin ({name}=-)",
                    hint="give the others with --from-file NAME=PATH",
                )
            stdin_used = True
            data = read_stdin()
            add(name, data[:-1] if data.endswith(b"\n") else data)
        else:
            add(name, value.encode("utf-8"))
    for text in files:
        name, sep, path = text.partition("=")
        if not sep or not name or not path:
            raise InvalidInputError(
                f"--from-file {text!r} is not NAME=PATH", hint="e.g. --from-file TLS_KEY=key.pem"
            )
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise InvalidInputError(
                f"--from-file {name}: cannot read {path!r} ({exc.strerror or exc})",
                hint="give a readable file",
            ) from None
        add(name, data)
    if not out:
        raise UsageError("no secret given", hint="e.g. kuploy-gitops secret set STUDENT APP KEY=-")
    return out


def _managed_app(spec: tenant_spec.TenantSpec, app: str) -> AppSpec:
    found = require_app(spec, app)
    if found.mode == "repo":
        raise UsageError(
            f"app {app!r} deploys from the student's repo: its secrets are sealed there",
            hint="seal with kubeseal --cert <cert> --scope strict into its deploy/ folder "
            "(KUPLOY.md, 'Secrets')",
        )
    return found


def secret_set(
    repo: Path,
    student: str,
    app: str,
    values: Mapping[str, bytes],
    *,
    dry_run: bool = False,
    push: bool = False,
) -> SecretResult:
    """Seal ``values`` into the app's SealedSecret, keeping its other keys; one commit.

    Raises:
        UsageError: a student-repo app (exit 2).
        ConfigError: no Sealed Secrets add-on or certificate (exit 3).
        InvalidInputError: an invalid key name (exit 4).
        ConflictError: unknown student or app (exit 5).
    """
    from kuploy_gitops import sealing

    names.check_student_name(student)
    for key in values:
        tenant_spec.check_secret_key(key)
    with writing(repo, student) as (git, cfg):
        spec = tenant_spec.require_valid_spec(repo, student, cfg)
        old = _managed_app(spec, app)
        public_key = load_cert(repo, cfg)
        ns, name = layout.namespace_name(student), layout.app_secret_name(app)
        sealed = dict(old.secrets)
        changes = [f"{k} {'replaced' if k in sealed else 'set'}" for k in sorted(values)]
        for key, value in values.items():
            sealed[key] = sealing.seal_value(public_key, ns, name, value)
        new = replace(old, secrets=tuple(sorted(sealed.items())))
        return _write(git, cfg, spec, new, changes, "set", dry_run=dry_run, push=push)


def secret_unset(
    repo: Path,
    student: str,
    app: str,
    keys: Sequence[str],
    *,
    dry_run: bool = False,
    push: bool = False,
) -> SecretResult:
    """Remove ``keys`` from the app's SealedSecret (the last one removes the object); one commit.

    Raises:
        UsageError: no key given, or a student-repo app (exit 2).
        InvalidInputError: a key the app's secret does not have (exit 4).
        ConflictError: unknown student or app (exit 5).
    """
    names.check_student_name(student)
    if not keys:
        raise UsageError("no secret name given", hint="e.g. secret unset STUDENT APP API_KEY")
    with writing(repo, student) as (git, cfg):
        spec = tenant_spec.require_valid_spec(repo, student, cfg)
        old = _managed_app(spec, app)
        sealed = dict(old.secrets)
        absent = sorted(set(keys) - set(sealed))
        if absent:
            raise InvalidInputError(
                f"app {student}/{app} has no secret {absent[0]!r}",
                hint=f"its secrets: {', '.join(sealed) or 'none'}",
            )
        for key in keys:
            del sealed[key]
        new = replace(old, secrets=tuple(sorted(sealed.items())))
        changes = [f"{k} unset" for k in sorted(set(keys))]
        return _write(git, cfg, spec, new, changes, "unset", dry_run=dry_run, push=push)


def _write(
    git: GitRepo,
    cfg: PlatformConfig,
    spec: tenant_spec.TenantSpec,
    new: AppSpec,
    changes: list[str],
    verb: str,
    *,
    dry_run: bool,
    push: bool,
) -> SecretResult:
    new_spec = spec.with_app(new)
    tenant_spec.check_app(new_spec, new, cfg)
    fplan = FilePlan(git.path)
    tenant_plan(fplan, cfg, new_spec)
    keys = [k for k, _ in new.secrets]
    secret = layout.app_secret_name(new.name)
    touched = ", ".join(c.split(" ")[0] for c in changes)
    result = finish(
        git,
        cfg,
        fplan,
        f"kuploy: {verb} secret {touched} of app {new.name} of {spec.student} ({secret})",
        summary=f"secret {spec.student}/{secret}",
        dry_run=dry_run,
        push=push,
    )
    return SecretResult(result, secret, changes, keys)


def secret_list(repo: Path, student: str, app: str) -> dict[str, Any]:
    """The keys of a managed app's sealed secret (names only: git holds no plain value)."""
    names.check_student_name(student)
    cfg = load_config(repo)
    spec = tenant_spec.require_valid_spec(repo, student, cfg)
    found = _managed_app(spec, app)
    return {
        "student": student,
        "app": app,
        "secret": layout.app_secret_name(app),
        "namespace": layout.namespace_name(student),
        "keys": [k for k, _ in found.secrets],
    }
