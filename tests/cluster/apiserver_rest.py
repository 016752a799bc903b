"""Creates and server-side applies straight to the API server, answered as kubectl answers them.

``kubectl create`` and ``kubectl apply --server-side`` of objects the tests hold as data cost a
process each (about 0.2 s: start, discovery, an OpenAPI document for the field-validation
check) for a request the server answers in milliseconds, and the API server tier makes hundreds
of them. This client sends the same requests kubectl sends (the same URL, ``fieldValidation=
Strict``, ``dryRun=All``, the same field manager and impersonation headers) and gives back a
:class:`Result` with kubectl's exit code and its way of printing what the server said: each
warning once as ``Warning: <text>``, each error as ``Error from server (<reason>): ...``.

The server's verdict is the same either way; what stays with kubectl is what kubectl itself
decides: YAML text as typed (the schema corpus) and every other verb.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

# A Warning header: code, agent, then the quoted text (RFC 7234 section 5.5).
_WARNING = re.compile(r'^\d{3} \S+ "((?:[^"\\]|\\.)*)"')


@dataclass
class Result:
    """What kubectl answered: exit code, stdout, and stderr split into warnings and the rest."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def warnings(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("Warning:")]

    @property
    def errors(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln and not ln.startswith("Warning:")]

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class Resource:
    """Where a kind lives: its collection's URL prefix and plural, and whether it is namespaced."""

    prefix: str  # /api/v1 or /apis/<group>/<version>
    plural: str
    namespaced: bool


@dataclass
class Rest:
    """An admin client of one API server (the harness's kubeconfig: its CA and static token)."""

    kubeconfig: Path
    _client: httpx.Client | None = field(default=None, repr=False)
    _kinds: dict[str, dict[str, Resource]] = field(default_factory=dict, repr=False)
    _names: dict[str, tuple[str, Resource]] | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            config = yaml.safe_load(self.kubeconfig.read_text())
            cluster = config["clusters"][0]["cluster"]
            ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
            token = config["users"][0]["user"]["token"]
            self._client = httpx.Client(
                base_url=cluster["server"],
                verify=ssl.create_default_context(cadata=ca),
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=120,
            )
        return self._client

    # -- discovery ------------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource | None:
        """The resource of ``kind`` in ``api_version``, asking the server again on a miss (a CRD
        installed since the last look)."""
        for fresh in (False, True):
            if fresh or api_version not in self._kinds:
                self._kinds[api_version] = self._discover(api_version)
            found = self._kinds[api_version].get(kind)
            if found is not None:
                return found
        return None

    def _discover(self, api_version: str) -> dict[str, Resource]:
        return {entry["kind"]: resource for entry, resource in self._listing(api_version)}

    def _listing(self, api_version: str) -> list[tuple[dict[str, Any], Resource]]:
        """The server's resources of one group version (its discovery document), each with
        where it lives; subresources left out; [] when the server does not serve it."""
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        reply = self.client.get(prefix)
        if reply.status_code == 404:
            return []
        reply.raise_for_status()
        return [
            (r, Resource(prefix, r["name"], bool(r["namespaced"])))
            for r in reply.json()["resources"]
            if "/" not in r["name"]  # subresources
        ]

    def named(self, name: str) -> tuple[str, Resource] | None:
        """``(apiVersion, resource)`` of a name as kubectl takes it (plural, singular, short name
        or kind, any case), in kubectl's order: the core group first, then the groups as the
        server lists them, each at its preferred version."""
        if self._names is None or name.lower() not in self._names:  # again: a CRD since?
            self._names = {}
            versions = ["v1"] + [
                g["preferredVersion"]["groupVersion"]
                for g in self.client.get("/apis").raise_for_status().json()["groups"]
            ]
            for version in versions:
                for r, resource in self._listing(version):
                    aliases = [r["name"], r.get("singularName") or "", r["kind"].lower()]
                    for alias in aliases + list(r.get("shortNames") or []):
                        self._names.setdefault(alias, (version, resource))
        return self._names.get(name.lower())

    def get(self, args: Sequence[str]) -> Any:
        """``kubectl get ARGS -o json`` for ``RESOURCE[,RESOURCE...] [NAME] [-n NS] [-l SELECTOR]``
        (as kubectl prints it: one object, or a ``List`` whose items carry their kind); None
        for any other form, or a name this server does not know (kubectl then answers)."""
        rest, ns, selector = list(args), "", ""
        for flag in ("-n", "-l"):
            if flag in rest:
                i = rest.index(flag)
                if i + 1 >= len(rest):
                    return None
                value = rest.pop(i + 1)
                rest.pop(i)
                ns, selector = (value, selector) if flag == "-n" else (ns, value)
        if not rest or len(rest) > 2 or any(a.startswith("-") for a in rest):
            return None
        found = [self.named(n) for n in rest[0].split(",")]
        if None in found or (len(rest) == 2 and len(found) != 1):
            return None
        where = ns or "default"
        if len(rest) == 2:
            version, resource = found[0]  # type: ignore[misc]
            reply = self.client.get(
                f"{_collection(resource, where if resource.namespaced else '')}/{rest[1]}"
            )
            return _shown(_checked(reply, ["get", *args]))
        items: list[Any] = []
        for version, resource in found:  # type: ignore[misc]
            params = {"labelSelector": selector} if selector else {}
            url = _collection(resource, where if resource.namespaced else "")
            listing = _checked(self.client.get(url, params=params), ["get", *args])
            kind = str(listing["kind"]).removesuffix("List")
            items += [
                _shown({"apiVersion": version, "kind": kind, **item}) for item in listing["items"]
            ]
        return {
            "apiVersion": "v1",
            "items": items,
            "kind": "List",
            "metadata": {"resourceVersion": ""},
        }

    # -- the two verbs --------------------------------------------------------------------------

    def create(
        self,
        obj: Mapping[str, Any],
        *,
        dry_run: bool = False,
        as_user: str | None = None,
        as_groups: Iterable[str] = (),
    ) -> Result:
        """``kubectl create --validate=strict -o name -f -`` of one object."""
        out = _Output()
        found = self._locate(obj, out)
        if found is not None:
            resource, ns = found
            params = {"fieldValidation": "Strict", "fieldManager": "kubectl-create"}
            if dry_run:
                params["dryRun"] = "All"
            reply = self.client.post(
                _collection(resource, ns),
                params=params,
                json=dict(obj),
                headers=_impersonation(as_user, as_groups),
            )
            if out.answer(reply, "creating"):
                out.stdout.append(_name_of(obj))  # -o name: the same with --dry-run
        return out.result()

    def apply(
        self,
        objects: Sequence[Mapping[str, Any]],
        *,
        dry_run: bool = False,
        field_manager: str = "kuploy-test",
        as_user: str | None = None,
        as_groups: Iterable[str] = (),
    ) -> Result:
        """``kubectl apply --server-side --force-conflicts --validate=strict -f -``: each object
        in order, going on past a failed one as kubectl does."""
        out = _Output()
        for obj in objects:
            found = self._locate(obj, out)
            if found is None:
                continue
            resource, ns = found
            params = {"fieldManager": field_manager, "force": "true", "fieldValidation": "Strict"}
            if dry_run:
                params["dryRun"] = "All"
            reply = self.client.patch(
                f"{_collection(resource, ns)}/{obj['metadata']['name']}",
                params=params,
                content=json.dumps(obj),  # JSON is YAML: the apply patch as kubectl sends it
                headers=[
                    ("Content-Type", "application/apply-patch+yaml"),
                    *_impersonation(as_user, as_groups),
                ],
            )
            if out.answer(reply, None):
                suffix = " (server dry run)" if dry_run else ""
                out.stdout.append(f"{_name_of(obj)} serverside-applied{suffix}")
        return out.result()

    def _locate(self, obj: Mapping[str, Any], out: _Output) -> tuple[Resource, str] | None:
        """The object's resource and namespace (``default`` when a namespaced object names
        none, as kubectl with the harness's kubeconfig); None, with kubectl's error, when the
        server does not serve its kind."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        resource = self.resource(api_version, kind) if api_version and kind else None
        if resource is None:
            meta = obj.get("metadata") or {}
            name, ns = meta.get("name", ""), meta.get("namespace", "")
            out.fail(
                f'error: resource mapping not found for name: "{name}" namespace: "{ns}" from '
                f'"STDIN": no matches for kind "{kind}" in version "{api_version}"\n'
                "ensure CRDs are installed first"
            )
            return None
        ns = (obj.get("metadata") or {}).get("namespace") or "default"
        return resource, ns if resource.namespaced else ""


class _Output:
    """What kubectl prints: stdout lines; on stderr each warning text once as it comes (kubectl's
    deduplicating handler), then the errors it collected (unmappable objects first, as its
    builder finds them before any request)."""

    def __init__(self) -> None:
        self.stdout: list[str] = []
        self.warnings: list[str] = []
        self.unmapped: list[str] = []
        self.refusals: list[tuple[dict[str, Any], str]] = []

    def answer(self, reply: httpx.Response, verb: str | None) -> bool:
        for header in reply.headers.get_list("warning"):
            m = _WARNING.match(header)
            text = re.sub(r"\\(.)", r"\1", m.group(1)) if m else header
            if f"Warning: {text}" not in self.warnings:
                self.warnings.append(f"Warning: {text}")
        if reply.is_success:
            return True
        try:
            status = dict(reply.json())
        except ValueError:
            status = {"message": reply.text}
        status.setdefault("reason", status.get("reason") or reply.reason_phrase.replace(" ", ""))
        self.refusals.append((status, f'error when {verb} "STDIN": ' if verb else ""))
        return False

    def fail(self, line: str) -> None:
        self.unmapped.append(line)

    def result(self) -> Result:
        errors = list(self.unmapped)
        if len(self.unmapped) + len(self.refusals) == 1 and self.refusals:
            errors.append(_kubectl_error(*self.refusals[0]))
        else:  # an aggregate: each error in its plain form
            errors += [
                f"Error from server ({st['reason']}): {where}{st.get('message', '')}"
                for st, where in self.refusals
            ]
        return Result(
            1 if errors else 0,
            "".join(f"{ln}\n" for ln in self.stdout),
            "".join(f"{ln}\n" for ln in self.warnings + errors),
        )


def _kubectl_error(status: Mapping[str, Any], where: str) -> str:
    """How kubectl prints one refusal: an invalid object's causes after ``The <Kind> "<name>" is
    invalid:`` (one inline, several as ``*`` lines); anything else as ``Error from server
    (<reason>): [error when <verb> "STDIN": ]<message>`` (a server-side apply names no verb)."""
    details = status.get("details") or {}
    causes = details.get("causes") or []
    if status.get("reason") == "Invalid" and causes:
        head = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid: '
        lines = [
            f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes
        ]
        return head + lines[0] if len(lines) == 1 else head + "".join(f"\n* {ln}" for ln in lines)
    return f"Error from server ({status['reason']}): {where}{status.get('message', '')}"


def _shown(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as ``kubectl get -o json`` shows it: without its managed fields."""
    obj.get("metadata", {}).pop("managedFields", None)
    return obj


def _checked(reply: httpx.Response, argv: Sequence[str]) -> Any:
    """The reply's JSON; a refusal fails as ``kubectl ... check=True`` does."""
    if not reply.is_success:
        status = (
            reply.json()
            if reply.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        reason = status.get("reason") or reply.reason_phrase.replace(" ", "")
        raise AssertionError(
            f"kubectl {' '.join(argv)} failed:\nError from server ({reason}): "
            f"{status.get('message', reply.text)}"
        )
    return reply.json()


def _collection(resource: Resource, ns: str) -> str:
    where = f"/namespaces/{ns}" if ns else ""
    return f"{resource.prefix}{where}/{resource.plural}"


def _name_of(obj: Mapping[str, Any]) -> str:
    """kubectl's ``-o name``: ``kind.group/name`` (no group for the core API)."""
    group = str(obj["apiVersion"]).rpartition("/")[0]
    kind = str(obj["kind"]).lower()
    return f"{kind}{'.' + group if group else ''}/{obj['metadata']['name']}"


def _impersonation(user: str | None, groups: Iterable[str]) -> list[tuple[str, str]]:
    """kubectl's ``--as``/``--as-group``: one header per group, so a list of pairs."""
    if user is None:
        return []
    return [("Impersonate-User", user), *(("Impersonate-Group", g) for g in groups)]
