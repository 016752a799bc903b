"""The one error tree of kuploy-gitops and its exit-code table.

Every failure a user can cause or fix is a :class:`KuployError`; the CLI prints it as one red
line on stderr and exits with the class's ``exit_code``. Anything else is a bug and keeps its
traceback.

    KuployError                    exit 1   (base; never raised directly)
    ├── UsageError                 exit 2   bad flags or arguments (click uses 2 as well)
    ├── ConfigError                exit 3   kuploy.yaml / tenant spec unreadable or invalid
    │   └── NotInitialisedError    exit 3   no kuploy.yaml: run `kuploy-gitops init`
    ├── InvalidInputError          exit 4   a value given on the command line or in a roster
    │   └── RosterError            exit 4   one or more bad roster rows (lists them all)
    ├── ConflictError              exit 5   duplicate app, unknown student, dirty owned files
    ├── GitError                   exit 6   git failed (commit, push after retries, lock)
    ├── DriftError                 exit 7   `render --check`: committed files differ from specs
    ├── FindingsError              exit 8   `validate`: the repo has findings
    ├── ArgoCDError                exit 9   Argo CD REST API failure
    ├── ProviderError              exit 10  GitHub (or another git host) failure
    └── CredentialsError           exit 11  GitHub or Argo CD credentials missing

Exit code 1 without a red line is an unexpected exception: a bug to report.
"""

from __future__ import annotations


class KuployError(Exception):
    """Base of every error a user can act on.

    The message is one line: what is wrong, naming the bad value, and how to fix it.
    """

    exit_code: int = 1
    details: tuple[str, ...] = ()
    """Lines the CLI prints before the error line (every bad roster row, every drifting file)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} ({hint})")

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class UsageError(KuployError):
    """A command was called with flags or arguments that do not fit together."""

    exit_code = 2


class ConfigError(KuployError):
    """kuploy.yaml or a tenant spec cannot be read or does not validate."""

    exit_code = 3


class NotInitialisedError(ConfigError):
    """The folder is not a kuploy platform repo (no kuploy.yaml)."""


class InvalidInputError(KuployError):
    """A value given by the user (name, tier, env var, date...) is not acceptable."""

    exit_code = 4


class RosterError(InvalidInputError):
    """A roster file has bad rows; ``problems`` lists each as (line number, reason)."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        self.details = tuple(f"{path}:{line}: {reason}" for line, reason in problems)
        first = problems[0]
        more = f" (and {len(problems) - 1} more bad rows)" if len(problems) > 1 else ""
        super().__init__(
            f"{path}:{first[0]}: {first[1]}{more}",
            hint="fix the rows or pass --skip-invalid to onboard only the good ones",
        )


class ConflictError(KuployError):
    """The request conflicts with the repo's state (exists already, missing, dirty files)."""

    exit_code = 5


class GitError(KuployError):
    """A git operation failed; the repo has been left as it was before the command."""

    exit_code = 6


class DriftError(KuployError):
    """Committed rendered files differ from what the specs render to."""

    exit_code = 7

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.details = tuple(f"drift: {p}" for p in paths)
        super().__init__(
            f"{len(paths)} rendered file(s) differ from the specs: {', '.join(paths[:5])}"
            + (" ..." if len(paths) > 5 else ""),
            hint="run `kuploy-gitops render` (it re-renders and commits them)",
        )


class FindingsError(KuployError):
    """`validate` found problems (the report has been printed)."""

    exit_code = 8


class ArgoCDError(KuployError):
    """A call to Argo CD's REST API failed.

    Carries the HTTP method, the path, the status (``None`` when no response came) and Argo
    CD's own message. Never carries a token.
    """

    exit_code = 9

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        server_message: str = "",
        hint: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.server_message = server_message
        super().__init__(message, hint=hint)


class ProviderError(KuployError):
    """A call to the git hosting provider (GitHub) failed; carries status and message."""

    exit_code = 10

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        server_message: str = "",
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.server_message = server_message
        super().__init__(message, hint=hint)


class CredentialsError(KuployError):
    """Credentials for an external system (GitHub, Argo CD) are not set.

    One kind of error, one code, whichever system is missing its token; a token the system
    refuses is that system's error (:class:`ArgoCDError`, :class:`ProviderError`).
    """

    exit_code = 11


EXIT_CODES: dict[str, int] = {
    "ok": 0,
    "bug": 1,
    "usage": UsageError.exit_code,
    "config": ConfigError.exit_code,
    "invalid-input": InvalidInputError.exit_code,
    "conflict": ConflictError.exit_code,
    "git": GitError.exit_code,
    "drift": DriftError.exit_code,
    "findings": FindingsError.exit_code,
    "argocd": ArgoCDError.exit_code,
    "provider": ProviderError.exit_code,
    "credentials": CredentialsError.exit_code,
}
"""The exit-code table, as documented in the README and `kuploy-gitops --help`."""
