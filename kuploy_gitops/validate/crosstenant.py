"""Rules across tenants: hosts, objects and GitHub logins each claimed once.

Each Ingress host and path is claimed once, each object under ``apps/cluster`` defined once,
each GitHub login bound to one tenant (and its file in ``tenants/logins`` names that tenant).
The rules must see every tenant, also in a run that checks only some (``--changed-since``, a
change set): the facts of files the run does not check in full come from the index (see
:mod:`.index`), so they cost a ``stat`` per file when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kuploy_gitops import layout, yamlio
from kuploy_gitops.errors import KuployError
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.findings import PLATFORM
from kuploy_gitops.validate.ingress import ingress_hosts
from kuploy_gitops.validate.kustomize import KUSTOMIZATION_FILES
from kuploy_gitops.validate.objects import CLUSTER_SCOPED, group_of
from kuploy_gitops.validate.run import RunBase, tenant_of
from kuploy_gitops.validate.tree import BuiltDoc, Doc, is_manifest, iter_objects, locate, parse


@dataclass
class Claim:
    """One Ingress rule's claim on a host and path.

    ``line`` is the Ingress's line until a duplicate is reported: then the host's own line is
    looked up (document ``index`` of ``file`` in the repo, at ``key``), which costs a parse.
    """

    student: str
    file: str
    line: int
    kind: str
    name: str
    namespace: str
    index: int = -1
    key: list[str | int] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        """The claim as JSON-ready data (``Claim(**data)`` gives it back).

        Not ``dataclasses.asdict``: its deep copy was a tenth of a 5,000-tenant run's serial
        time, for a flat record.
        """
        return {**vars(self), "key": list(self.key)}


ObjectKey = tuple[str, str, str, str, str, int, str]
"""group, kind, namespace, name, file, line, tenant of one object under ``apps/cluster``."""


class CrossTenantChecks(RunBase):
    """Host claims and object identities of every tenant, and the rules over them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hosts: dict[tuple[str, str], list[Claim]] = {}
        # Claims of the tenants checked in this run, in order (a tenant's result takes its own).
        self.claims_log: list[tuple[str, str, Claim]] = []
        self.object_keys: list[ObjectKey] = []
        # Each tenant's GitHub login, lower case ("" none; None: its spec could not be read).
        self.logins: dict[str, str | None] = {}

    # -- ingress hosts -------------------------------------------------------------------------

    def collect_hosts(self, student: str) -> None:
        """Host claims of a tenant that is not checked in this run (raw files, no build).

        Files Argo CD never reads as manifests are left out: below the top of an app folder
        that has no kustomization (a plain directory's sub-folders, a Helm chart's templates).
        """
        base = layout.workload_dir(student)
        files = self.tree.files(base)
        kustomized = {
            p[len(base) + 1 :].split("/", 1)[0]
            for p in files
            if p[len(base) + 1 :].count("/") == 1 and p.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES
        }
        for path in files:
            parts = path[len(base) + 1 :].split("/")
            if not is_manifest(path) or (len(parts) > 2 and parts[0] not in kustomized):
                continue

            def claims(path: str = path) -> list[list[Any]]:
                text = self.tree.read(path)
                if "Ingress" not in text:
                    return []
                out: list[list[Any]] = []
                for doc in iter_objects(parse(text, path, student)[0]):
                    if isinstance(doc.obj, dict) and doc.obj.get("kind") == "Ingress":
                        meta = doc.obj.get("metadata") or {}
                        for host, rule_path, key in ingress_hosts(doc.obj):
                            out.append(
                                [
                                    host,
                                    rule_path,
                                    doc.file,
                                    doc.line_of(key),
                                    str(meta.get("name") or ""),
                                    str(meta.get("namespace") or ""),
                                ]
                            )
                return out

            found = claims() if path in self.tree.overlay else self.index().facts(path, claims)
            for host, rule_path, file, line, name, namespace in found:
                self.hosts.setdefault((host, rule_path), []).append(
                    Claim(student, file, line, "Ingress", name, namespace)
                )

    def claim_hosts(self, student: str, doc: Doc, *, in_repo: bool = True) -> None:
        """Record the host claims of an Ingress of a tenant checked in this run.

        For an Ingress of a repo file (``in_repo``), the host's own line is looked up only if
        the claim turns out to be a duplicate.
        """
        meta = doc.obj.get("metadata") or {}
        lazy = in_repo and not isinstance(doc, BuiltDoc) and doc.text is not None
        for host, path, key in ingress_hosts(doc.obj):
            # The line first: it places a built object at its source file (see BuiltDoc).
            line = doc.line if lazy else doc.line_of(key)
            claim = Claim(
                student,
                doc.file,
                line,
                str(doc.obj.get("kind")),
                str(meta.get("name") or ""),
                str(meta.get("namespace") or ""),
                doc.index if lazy else -1,
                list(key) if lazy else [],
            )
            self.add_claim(host, path, claim)
            self.claims_log.append((host, path, claim))

    def add_claim(self, host: str, path: str, claim: Claim) -> None:
        """Record that ``claim`` uses ``host`` and ``path``."""
        self.hosts.setdefault((host, path), []).append(claim)

    def check_hosts(self) -> None:
        """A host and path claimed twice: a finding at each claim of a checked tenant."""
        for (host, path), claims in sorted(self.hosts.items(), key=lambda kv: kv[0]):
            if len(claims) < 2:
                continue
            for i, claim in enumerate(claims):
                if claim.student not in self.checked:
                    continue
                others = [f"{c.student} ({c.file})" for j, c in enumerate(claims) if j != i]
                obj = {
                    "kind": claim.kind,
                    "metadata": {"name": claim.name, "namespace": claim.namespace},
                }
                self.report.findings.append(
                    F.make(
                        F.INGRESS_DUPLICATE,
                        f"host {host} path {path} is also claimed by {', '.join(others)}",
                        file=claim.file,
                        line=self.exact_line(claim),
                        tenant=claim.student,
                        obj=obj,
                    )
                )

    def exact_line(self, claim: Claim) -> int:
        """The line of the claimed host (see :class:`Claim`)."""
        if claim.index < 0 or not self.tree.exists(claim.file):
            return claim.line
        return locate(self.tree.read(claim.file), claim.index, tuple(claim.key)) or claim.line

    # -- objects under apps/cluster ------------------------------------------------------------

    def keys_of(self, paths: list[str]) -> list[ObjectKey]:
        """Identity keys of the objects in ``paths`` that kuploy's Applications sync."""
        keys: list[ObjectKey] = []
        prefix = layout.CLUSTER_DIR + "/"
        for path in paths:
            if not path.startswith(prefix) or not is_manifest(path):
                continue
            tenant = tenant_of(path)
            parsed = self._parsed.get((id(self.tree), path))
            if parsed is not None:
                keys.extend(self._keys(parsed, tenant))
            elif path in self.tree.overlay:
                keys.extend(self._keys(self.parse_plain(path, tenant), tenant))
            else:  # a tenant this run does not check: its objects still count (cached)

                def compute(path: str = path, tenant: str = tenant) -> list[list[Any]]:
                    return [list(k) for k in self._keys(self.parse_plain(path, tenant), tenant)]

                for g, kind, ns, name, file, line, owner in self.index().facts(path, compute):
                    keys.append((g, kind, ns, name, file, line, owner))
        return keys

    def _keys(self, docs: list[Doc], tenant: str) -> list[ObjectKey]:
        keys: list[ObjectKey] = []
        for doc in docs:
            obj = doc.obj
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
                continue
            kind = str(obj.get("kind"))
            ns = (
                ""
                if kind in CLUSTER_SCOPED
                else str(obj["metadata"].get("namespace") or self.cfg.argocd_namespace)
            )
            keys.append(
                (
                    group_of(obj),
                    kind,
                    ns,
                    str(obj["metadata"].get("name")),
                    doc.file,
                    doc.line,
                    tenant,
                )
            )
        return keys

    def check_object_duplicates(self) -> None:
        """Each object under apps/cluster is defined once.

        Two definitions would make two of kuploy's Applications (or one, twice) manage it.
        """
        merged = {k[4] for k in self.object_keys}
        own = [p for p in self.tree.files(layout.CLUSTER_DIR) if p not in merged]
        keys = sorted(self.object_keys + self.keys_of(own), key=lambda k: (k[4], k[5]))
        seen: dict[tuple[str, str, str, str], ObjectKey] = {}
        for key in keys:
            ident = key[:4]
            first = seen.get(ident)
            if first is None:
                seen[ident] = key
            elif key[6] in self.checked or key[6] == PLATFORM:
                obj = {"kind": key[1], "metadata": {"name": key[3], "namespace": key[2]}}
                self.report.findings.append(
                    F.make(
                        F.DUPLICATE,
                        f"{key[1]} {key[3]} is already defined in {first[4]}:{first[5]} (both "
                        f"under {layout.CLUSTER_DIR}, synced by kuploy's Applications)",
                        file=key[4],
                        line=key[5],
                        tenant=key[6],
                        obj=obj,
                    )
                )

    # -- GitHub logins -------------------------------------------------------------------------

    def collect_login(self, student: str) -> None:
        """The GitHub login of a tenant that is not checked in this run (from its spec file).

        Only the ``github`` key is read, through the index: a ``stat`` when the spec is
        unchanged. A spec that does not read is None (its own run reports it).
        """
        path = layout.tenant_spec(student)
        if not self.tree.exists(path):
            self.logins[student] = ""
            return

        def login() -> str | None:
            try:
                data = yamlio.load(self.tree.read(path), source=path)
            except (KuployError, FileNotFoundError):  # UnreadableFile is a KuployError
                return None
            value = data.get("github", "") if isinstance(data, dict) else None
            return value.lower() if isinstance(value, str) else None

        found = login() if path in self.tree.overlay else self.index().facts(path, login)
        self.logins[student] = found

    def check_login_duplicates(self) -> None:
        """A GitHub login bound to two tenants: a finding at each spec of a checked tenant."""
        holders: dict[str, list[str]] = {}
        for student, login in sorted(self.logins.items()):
            if login:
                holders.setdefault(login, []).append(student)
        for login, students in sorted(holders.items()):
            if len(students) < 2:
                continue
            for student in students:
                if student not in self.checked:
                    continue
                others = ", ".join(repr(s) for s in students if s != student)
                path = layout.tenant_spec(student)
                self.add_file(
                    F.LOGIN_DUPLICATE,
                    f"GitHub login {login!r} is also bound to {others}",
                    path,
                    student,
                    self.key_line(path, "github"),
                )

    def login_drift(self, *, whole_repo: bool) -> list[str]:
        """Files of ``tenants/logins`` that differ from what the specs render to.

        The checked tenants' files, and for the whole repo every file there that no spec
        renders (one naming a tenant whose spec is broken is left out, as its other files are).
        """
        from kuploy_gitops import drift

        expected: dict[str, str] = {}
        for student, login in sorted(self.logins.items()):
            if login and (whole_repo or student in self.checked):
                expected.setdefault(layout.login_marker(login), layout.login_marker_text(student))
        owned: list[str] = []
        if whole_repo:
            for path in self.tree.files(layout.LOGINS_DIR):
                if path == layout.LOGINS_README or path in expected:
                    continue
                named = self.read_or_none(path) or ""
                if self.logins.get(named.strip(), "") is not None:
                    owned.append(path)
        return drift.compare(expected, owned, self.read_or_none)

    def key_line(self, path: str, key: str) -> int:
        """The line of top-level ``key`` in the YAML file ``path`` (1 when not found)."""
        return yamlio.key_line(self.read_or_none(path) or "", [key]) or 1

    def read_or_none(self, path: str) -> str | None:
        """The text of ``path`` (None when it does not exist)."""
        return self.tree.read(path) if self.tree.exists(path) else None
