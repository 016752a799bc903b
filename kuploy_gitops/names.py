"""Name and value rules shared by the platform config and tenant specs.

Every rule refuses with an :class:`InvalidInputError` naming the bad value and saying how to fix
it. Rules that need the platform config take what they need from it as plain values, so this
module sits below both :mod:`kuploy_gitops.config` and :mod:`kuploy_gitops.tenant_spec`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import unicodedata
from collections.abc import Collection

from kuploy_gitops.errors import InvalidInputError

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

MAX_STUDENT_LEN = 30
MAX_APP_LEN = 30
# Namespaces a student may never be named after: a tenant's namespace is the student's name, so
# a reserved name would make the tenants' ApplicationSet adopt (relabel, default-deny and, at
# offboarding, delete) a namespace of the cluster itself or of an add-on. The names are those
# lab clusters commonly carry; entries with ``*`` are glob patterns (``*`` matches any text).
# PlatformConfig.reserved_namespaces adds the platform's own namespaces and kuploy.yaml's list.
RESERVED_NAMES = frozenset(
    {
        "default",
        "argocd",
        "argo",
        "archive",
        "traefik",
        "ingress-nginx",
        "metrics-server",
        "cert-manager",
        "monitoring",
        "logging",
        "observability",
        "prometheus",
        "grafana",
        "loki",
        "kyverno",
        "local-path-storage",
        "velero",
        "vault",
        "external-dns",
        "external-secrets",
        "sealed-secrets",
        "metallb",
        "longhorn",
        "rook-ceph",
        "istio-ingress",
        "linkerd",
        "cilium",
        "calico",
        "flannel",
        "platform",
        "kuploy",
        "admin",
        "root",
        "system",
    }
)
# Patterns that always apply, whatever the caller's set: Kubernetes' own and the add-ons'
# naming conventions (kube-system, calico-system, metallb-system, cnpg-system, flux-system...).
RESERVED_PATTERNS = (
    "kube-*",
    "kuploy-*",
    "argo-*",
    "argocd-*",
    "calico-*",
    "tigera-*",
    "openshift-*",
    "cattle-*",
    "istio-*",
    "linkerd-*",
    "*-system",
)


def reserved_by(student: str, reserved: Collection[str] = RESERVED_NAMES) -> str:
    """The entry of ``reserved`` or of :data:`RESERVED_PATTERNS` that ``student`` matches, or ''.

    An entry with ``*`` is a glob pattern; any other entry is a whole name.
    """
    for entry in (*sorted(reserved), *RESERVED_PATTERNS):
        if entry == student or ("*" in entry and fnmatch.fnmatchcase(student, entry)):
            return entry
    return ""


def check_namespace_pattern(entry: str) -> str:
    """Return the problem with a reserved-namespace entry (a DNS label, ``*`` allowed), or ''."""
    if any(c in entry for c in "?[]"):
        return f"{entry!r} may use only '*' as a wildcard"
    if not DNS_LABEL.match(entry.replace("*", "x")) or len(entry) > 63:
        return f"{entry!r} is not a namespace name or pattern like 'monitoring' or 'kube-*'"
    return ""


# An image reference as the container runtimes parse it (the distribution project's reference
# grammar): [registry[:port]/]path-component(/path-component)*[:tag][@algorithm:hex]. A path
# component is lowercase alphanumerics joined by '.', '_', '__' or runs of '-'; no empty or '..'
# component can pass.
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?)"
_COMPONENT = r"(?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$"
)
# The tag part alone (`app set --tag`).
IMAGE_TAG = re.compile(rf"^{_TAG}$")


def suggest_label(text: str) -> str:
    """The DNS label nearest to ``text`` ("" if none): ``Park_Jisoo`` -> ``park-jisoo``.

    Lowercase; every run of other characters becomes one '-'; no '-' at either end.
    """
    label = re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")
    return label if DNS_LABEL.match(label) else ""


def check_student_name(
    student: str, reserved: Collection[str] = RESERVED_NAMES, *, allow_reserved: bool = False
) -> None:
    """Refuse a student name that cannot be a namespace or is reserved.

    ``reserved`` is every namespace the platform uses (``PlatformConfig.reserved_namespaces``),
    names or ``*`` patterns; :data:`RESERVED_PATTERNS` are refused too. ``allow_reserved``
    checks the syntax only: removing a tenant whose name has since become reserved.
    """
    if not DNS_LABEL.match(student):
        fixed = suggest_label(student)
        raise InvalidInputError(
            f"student name {student!r} is not a DNS label",
            hint=(f"did you mean {fixed!r}? " if fixed else "")
            + "use lowercase letters, digits and '-', starting and ending with a letter or "
            "digit (e.g. 'kim-minji' or '202112345')",
        )
    if len(student) > MAX_STUDENT_LEN:
        raise InvalidInputError(
            f"student name {student!r} has {len(student)} characters",
            hint=f"use at most {MAX_STUDENT_LEN}, so that '<student>-<app>' Application names "
            "and host names stay within 63",
        )
    entry = "" if allow_reserved else reserved_by(student, reserved)
    if entry:
        why = "" if entry == student else f" (it matches {entry!r})"
        raise InvalidInputError(
            f"student name {student!r} is reserved for the platform{why}",
            hint=_other_name_hint(student, reserved),
        )


def _other_name_hint(student: str, reserved: Collection[str]) -> str:
    suggestion = f"cs101-{student}"
    if (
        len(suggestion) <= MAX_STUDENT_LEN
        and DNS_LABEL.match(suggestion)
        and not reserved_by(suggestion, reserved)
    ):
        return f"pick another name, e.g. prefix it with the course ('{suggestion}')"
    return "pick another name, e.g. the student's ID number ('202112345')"


def check_app_name(app: str) -> None:
    """Refuse an app name that cannot be a DNS label in names and hosts."""
    if not DNS_LABEL.match(app) or len(app) > MAX_APP_LEN:
        raise InvalidInputError(
            f"app name {app!r} is not a DNS label of at most {MAX_APP_LEN} characters",
            hint="use lowercase letters, digits and '-' (e.g. 'web' or 'api')",
        )


def check_github_login(login: str) -> None:
    """Refuse a GitHub login GitHub itself would refuse."""
    if login and not GITHUB_LOGIN.match(login):
        raise InvalidInputError(
            f"GitHub login {login!r} is not valid",
            hint="use the user's GitHub username: letters, digits and single hyphens, max 39",
        )


def check_label_value(what: str, value: str) -> None:
    """Refuse a value that cannot be a Kubernetes label value."""
    if len(value) > 63 or not LABEL_VALUE.match(value):
        raise InvalidInputError(
            f"{what} {value!r} cannot be a Kubernetes label value",
            hint="use at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit (e.g. 'cs101' or '2026-fall')",
        )


def check_text(what: str, value: str, *, shown: bool = False) -> None:
    """Refuse text that is not valid UTF-8; ``shown`` text also without control characters.

    Names and e-mails are shown in tables and logs (``shown``): an ANSI escape, a newline or a
    right-to-left override there would repaint a terminal or disguise what a row says. An env
    value may hold line breaks (a PEM block), so it is only checked to be text.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(f"{what} {value!r} is not valid text", hint="retype it") from exc
    if not shown:
        return
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf")), None)
    if bad is not None:
        raise InvalidInputError(
            f"{what} {value!r} holds the control character U+{ord(bad):04X}",
            hint="retype it without control or direction characters",
        )


def check_expiry(value: str, today: dt.date | None = None) -> None:
    """Refuse an expiry date that is malformed or in the past."""
    try:
        date = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"expiry date {value!r} is not a date", hint="use YYYY-MM-DD, e.g. 2027-02-28"
        ) from exc
    if len(value) != 10:
        raise InvalidInputError(f"expiry date {value!r} is not YYYY-MM-DD", hint="e.g. 2027-02-28")
    if date < (today or dt.date.today()):
        raise InvalidInputError(
            f"expiry date {value} is in the past", hint="give a date from today on"
        )


def printable(text: str) -> str:
    r"""``text`` with control and format characters shown as ``\xNN``/``\uNNNN``.

    ANSI escapes, line breaks, bidi overrides and zero-width characters from a hand-edited spec
    or a server's message can then neither repaint the terminal nor disguise what a line says.
    """
    if text.isprintable():
        return text
    return "".join(
        c.encode("unicode_escape").decode("ascii")
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
        else c
        for c in text
    )
