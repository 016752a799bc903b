"""Whether the ingress controller may reach each Ingress backend (the tenant's NetworkPolicy).

The tenant's ``allow-from-ingress-controller`` policy admits the ingress controller to the apps'
ports only (:mod:`kuploy_gitops.netpol`): numbers, and the container port name ``http``. The API
server accepts an Ingress whose Service targets another port, but every request then times out
at the ingress controller; this check says so before the sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.objects import Path_, as_map, group_of, meta
from kuploy_gitops.validate.pss import pod_template
from kuploy_gitops.validate.tree import Doc

Port = int | str
INGRESS_POLICY = "allow-from-ingress-controller"


def admitted_ports(policies: Iterable[Mapping[str, Any]]) -> tuple[Port, ...] | None:
    """The ports the tenant's ingress-controller policy admits; None when it admits every port.

    No such policy admits nothing (``()``): default-deny holds.
    """
    out: list[Port] = []
    for obj in policies:
        if obj.get("kind") != "NetworkPolicy" or meta(obj).get("name") != INGRESS_POLICY:
            continue
        for rule in as_map(obj.get("spec")).get("ingress") or []:
            ports = as_map(rule).get("ports")
            if not ports:
                return None  # a rule without ports admits every port
            for p in ports:
                port = as_map(p).get("port")
                if port is None:
                    return None
                out.append(port if isinstance(port, int) else str(port))
    return tuple(out)


def _pod_ports(docs: list[Doc]) -> list[tuple[dict[str, str], list[tuple[str, int]]]]:
    """(pod labels, [(container port name, number)]) of every pod template."""
    out = []
    for doc in docs:
        template = pod_template(doc.obj)
        if template is None:
            continue
        _, pod_meta, pod_spec = template
        labels = {str(k): str(v) for k, v in as_map(pod_meta.get("labels")).items()}
        ports = [
            (str(as_map(p).get("name") or ""), as_map(p).get("containerPort"))
            for c in pod_spec.get("containers") or []
            for p in as_map(c).get("ports") or []
        ]
        out.append((labels, [(n, v) for n, v in ports if isinstance(v, int)]))
    return out


def _target(service: Mapping[str, Any], port: Mapping[str, Any]) -> Port | None:
    """The pod port a Service port (by number or name, as an Ingress backend gives it) targets."""
    for sp in as_map(service.get("spec")).get("ports") or []:
        entry = as_map(sp)
        if ("number" in port and entry.get("port") == port["number"]) or (
            "name" in port and entry.get("name") == port["name"]
        ):
            target = entry.get("targetPort", entry.get("port"))
            return target if isinstance(target, int) else str(target) if target else None
    return None


def _backends(obj: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any], Path_]]:
    """(service name, service port, key path) of every rule backend of an Ingress."""
    out: list[tuple[str, Mapping[str, Any], Path_]] = []
    for i, rule in enumerate(as_map(obj.get("spec")).get("rules") or []):
        for j, path in enumerate(as_map(as_map(rule).get("http")).get("paths") or []):
            svc = as_map(as_map(as_map(path).get("backend")).get("service"))
            if svc.get("name"):
                where: Path_ = ("spec", "rules", i, "http", "paths", j, "backend", "service")
                out.append((str(svc["name"]), as_map(svc.get("port")), where))
    return out


def unreachable_backends(
    admitted: tuple[Port, ...] | None, docs: list[Doc]
) -> list[tuple[Doc, Issue]]:
    """Ingress backends whose pod port the tenant's ingress-controller policy does not admit."""
    if admitted is None:
        return []
    services = {
        str(meta(d.obj).get("name")): d.obj
        for d in docs
        if d.obj.get("kind") == "Service" and not group_of(d.obj)
    }
    pods = _pod_ports(docs)
    out: list[tuple[Doc, Issue]] = []
    for doc in docs:
        if doc.obj.get("kind") != "Ingress":
            continue
        for name, port, where in _backends(doc.obj):
            service = services.get(name)
            target = _target(service, port) if service is not None else None
            if target is None:
                continue  # another rule's business (an unknown Service or port)
            selector = as_map(as_map(service.get("spec")).get("selector")) if service else {}
            # The pod ports behind the Service, as (name, number), for the pods it selects.
            behind = [
                pp
                for labels, ports in pods
                if selector and all(labels.get(str(k)) == str(v) for k, v in selector.items())
                for pp in ports
            ]
            if isinstance(target, str):
                ok = target in admitted or any(n == target and v in admitted for n, v in behind)
            else:
                ok = target in admitted or any(v == target and n in admitted for n, v in behind)
            if not ok:
                shown = ", ".join(str(p) for p in admitted) or "none"
                message = (
                    f"backend Service {name!r} targets pod port {target!r}, which the ingress "
                    f"controller may not reach (NetworkPolicy {INGRESS_POLICY}: {shown})"
                )
                out.append((doc, Issue(F.NETWORK_INGRESS_PORT, message, where)))
    return out
