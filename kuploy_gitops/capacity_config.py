"""kuploy.yaml's ``capacity:``: node sizes declared per room or pool, for `capacity` offline.

`kuploy-gitops capacity` reads the nodes from a cluster (a kubeconfig) or a ``kubectl get nodes
-o json`` file; without either it builds them from this section: each room of lab PCs (the
``kuploy.io/room`` label, as in ``timetable:``) and each pool of machines without a room (the
``kuploy.io/pool`` label) with how many nodes it has and what one node offers (its allocatable
CPU, memory and ephemeral storage, as ``kubectl describe node`` shows them). ``volume_storage``
is the size of the volumes' export (the NFS StorageClass), which tenants' ``requests.storage``
draws on; empty: unknown, and volume storage is not a constraint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kuploy_gitops.config_fields import Reader
from kuploy_gitops.names import DNS_LABEL, LABEL_VALUE
from kuploy_gitops.quantity import QUANTITY, parse_quantity

CAPACITY_KEYS = ("volume_storage", "rooms", "pools")
GROUP_KEYS = ("nodes", "cpu", "memory", "ephemeral_storage", "pool")
MAX_NODES = 10_000


@dataclass(frozen=True)
class NodeGroup:
    """``count`` nodes alike: their ``pool`` and ``room`` labels ('' = none) and one node's size.

    Sizes are in base units: cores, bytes, bytes.
    """

    pool: str
    room: str
    count: int
    cpu: float
    memory: float
    ephemeral_storage: float


@dataclass(frozen=True)
class CapacitySettings:
    """The parsed ``capacity:`` (no groups: `capacity` needs --nodes or --kubeconfig)."""

    volume_storage: float | None = None  # bytes; None: not declared
    groups: tuple[NodeGroup, ...] = field(default_factory=tuple)


def parse_capacity(r: Reader, data: Any, tenant_pool: str) -> CapacitySettings:
    """``capacity:`` of kuploy.yaml (missing or empty: nothing declared); one error per problem.

    A room's nodes are in ``pool`` (default: the tenants' pool, ``cluster.tenant_pool``, or
    ``lab`` when that is empty); a pool's nodes have no room.
    """
    if data is None:
        return CapacitySettings()
    c = r.mapping(data, "capacity")
    r.known_keys(c, CAPACITY_KEYS, "capacity")
    volume = c.get("volume_storage") or ""
    volume_bytes = _quantity(r, "capacity.volume_storage", volume) if volume else None
    groups: list[NodeGroup] = []
    for kind in ("rooms", "pools"):
        for name, value in r.mapping(c.get(kind) or {}, f"capacity.{kind}").items():
            path = f"capacity.{kind}.{name}"
            if not isinstance(name, str) or not DNS_LABEL.match(name):
                raise r.fail(path, f"{name!r} is not a {kind[:-1]} name (a label value like b204)")
            g = r.mapping(value, path)
            r.known_keys(g, GROUP_KEYS if kind == "rooms" else GROUP_KEYS[:-1], path)
            count = g.get("nodes")
            if type(count) is not int or not 0 <= count <= MAX_NODES:
                raise r.fail(f"{path}.nodes", f"{count!r} is not a whole number of nodes")
            pool = name
            if kind == "rooms":
                pool = g.get("pool") or tenant_pool or "lab"
                if not isinstance(pool, str) or not LABEL_VALUE.match(pool):
                    raise r.fail(f"{path}.pool", f"{pool!r} is not a pool name (a label value)")
            groups.append(
                NodeGroup(
                    pool=pool,
                    room=name if kind == "rooms" else "",
                    count=count,
                    cpu=_quantity(r, f"{path}.cpu", r.get(g, "cpu", path)),
                    memory=_quantity(r, f"{path}.memory", r.get(g, "memory", path)),
                    ephemeral_storage=_quantity(
                        r, f"{path}.ephemeral_storage", g.get("ephemeral_storage") or "0"
                    ),
                )
            )
    return CapacitySettings(volume_bytes, tuple(groups))


def _quantity(r: Reader, path: str, value: Any) -> float:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not QUANTITY.match(text):
        raise r.fail(
            path, f"{value!r} is not a quantity", hint="write it like '8', 500m, 16Gi or 200Gi"
        )
    return parse_quantity(text)
