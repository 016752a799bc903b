"""Pod filters for the addons role (pure Python): which nodes run a Ready pod."""

from __future__ import annotations

from typing import Any


def kuploy_ready_pod_nodes(pod_list: Any) -> list[str]:
    """Return the sorted names of the nodes that run a Ready pod of a `kubectl get pods -o json`.

    A pod counts when its Ready condition is "True"; pods not scheduled yet are left out.
    """
    nodes = set()
    for pod in (pod_list or {}).get("items", []) or []:
        node = (pod.get("spec") or {}).get("nodeName")
        conditions = (pod.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        if node and ready:
            nodes.add(node)
    return sorted(nodes)


class FilterModule:
    """Ansible's entry point for the filters of this file."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {"kuploy_ready_pod_nodes": kuploy_ready_pod_nodes}
