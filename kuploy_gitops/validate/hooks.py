"""Argo CD sync hooks: which objects are hooks, when they run, and whether they stay afterwards.

The quota sees a hook only while it runs: Argo CD applies hooks phase after phase (PreSync, Sync,
PostSync; SyncFail when a sync fails; PreDelete and PostDelete when the Application is deleted)
and, inside a phase, wave after wave, waiting for each wave to complete before the next. So the
hooks of one (phase, wave) run at the same time, next to the steady state (everything that is not
a hook), and hooks of different groups never do. A finished Job's pods are terminal and use no
quota, but the Job itself stays (and counts against ``count/jobs.batch``) unless its delete
policy removes it when it succeeds.

Read as Argo CD's sync engine reads the annotations: ``argocd.argoproj.io/hook`` (a comma
separated list; ``Skip`` alone means never applied), and when it names no known phase, Helm's
``helm.sh/hook`` (``pre-install``/``pre-upgrade`` run as PreSync, ``post-install``/
``post-upgrade`` as PostSync; any other Helm hook is never run by Argo CD, ``crd-install`` is no
hook); the wave is ``argocd.argoproj.io/sync-wave``, else ``helm.sh/hook-weight``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

from kuploy_gitops.validate.objects import as_map, meta

HOOK = "argocd.argoproj.io/hook"
DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HELM_HOOK = "helm.sh/hook"
HELM_DELETE_POLICY = "helm.sh/hook-delete-policy"
HELM_WEIGHT = "helm.sh/hook-weight"

PHASES = ("PreSync", "Sync", "PostSync", "SyncFail", "PreDelete", "PostDelete")
_HELM_PHASES = {
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
}
_SUCCEEDED = frozenset({"HookSucceeded", "hook-succeeded"})

K = TypeVar("K")


class Hook(NamedTuple):
    """When a hook runs: its phases (none: Argo CD never applies it) and its wave."""

    phases: tuple[str, ...]
    wave: int
    # Deleted once it succeeds (delete policy HookSucceeded): nothing of it stays.
    transient: bool


def _csv(value: Any) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def hook_of(obj: Mapping[str, Any]) -> Hook | None:
    """The object's :class:`Hook`, or None when it is part of the steady state."""
    notes = as_map(meta(obj).get("annotations"))
    argo = _csv(notes[HOOK]) if HOOK in notes else None
    helm = notes.get(HELM_HOOK)
    if argo is None and (helm is None or str(helm).strip() == "crd-install"):
        return None
    phases = [p for p in argo or () if p in PHASES]
    if not phases and not (argo and "Skip" in argo):
        # Argo CD reads the Helm annotation only when its own names no phase.
        phases = [_HELM_PHASES[h] for h in _csv(helm or "") if h in _HELM_PHASES]
    # A sync-wave that is no number falls back to the Helm weight, as in Argo CD.
    wave = _int(notes.get(SYNC_WAVE))
    if wave is None:
        wave = _int(notes.get(HELM_WEIGHT)) or 0
    policies = _csv(notes.get(DELETE_POLICY, "")) + _csv(notes.get(HELM_DELETE_POLICY, ""))
    return Hook(tuple(dict.fromkeys(phases)), wave, bool(_SUCCEEDED.intersection(policies)))


class SyncPlan:
    """The objects of an app as the quota meets them during a sync.

    ``steady``: every object that is not a hook (in the order given); ``lasting``: hooks that
    stay after they complete (their pods do not); ``groups``: the hooks that run at the same
    time, by (phase, wave), each with whether it is also in ``lasting``.
    """

    # A plain class, not a dataclass: this module is imported on a student's CI start-up path.
    def __init__(self) -> None:
        self.steady: list[tuple[Any, Mapping[str, Any]]] = []
        self.lasting: list[tuple[Any, Mapping[str, Any]]] = []
        self.groups: dict[tuple[str, int], list[tuple[Any, Mapping[str, Any], bool]]] = {}


def plan(objs: Iterable[tuple[K, Mapping[str, Any]]]) -> SyncPlan:
    """Split ``(key, object)`` pairs into the steady state and the hook groups."""
    out = SyncPlan()
    for key, obj in objs:
        hook = hook_of(obj)
        if hook is None:
            out.steady.append((key, obj))
            continue
        # A finished pod uses nothing of the quota, whatever its delete policy.
        lasting = bool(hook.phases) and not hook.transient and obj.get("kind") != "Pod"
        if lasting:
            out.lasting.append((key, obj))
        for phase in hook.phases:
            out.groups.setdefault((phase, hook.wave), []).append((key, obj, lasting))
    return out
