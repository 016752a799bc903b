"""Stacks: the starting points ``scaffold --stack`` and ``github setup --stack`` offer.

A stack fixes what the scaffold cannot guess from an empty repo: the port the framework listens
on by default, a health path that answers 200 in a fresh project of that framework, and how
long it may take to start. The files themselves (a Dockerfile and a ``.dockerignore``, and the
stack's pages of KUPLOY.md) are templates under ``templates/student-repo/stacks/<name>/``:
the student edits them afterwards. :func:`probes` builds the container probes of an app, with or
without a stack, so the scaffold's ``deploy/`` and platform-managed apps share one definition.

A module of its own, importing only the error tree, so the CLI can offer the names cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kuploy_gitops.errors import InvalidInputError

Obj = dict[str, Any]


@dataclass(frozen=True)
class Stack:
    """One stack: its defaults for the app's port and probes.

    ``startup_seconds`` above zero gives the container a startupProbe allowing that long to
    start (liveness and readiness wait for it): a JVM on a lab PC at half a core takes tens of
    seconds, and a liveness probe that fires earlier restarts it for ever. ``host_header`` sends
    the app's public host name in the probes' ``Host`` header: Django answers 400 to a host it
    does not list in ``ALLOWED_HOSTS``, and the kubelet would otherwise send the pod's IP.
    ``fixed_port``: the image's server listens on ``port`` whatever the app says (nginx's own
    configuration), so another port is refused instead of deploying an app nobody answers.
    """

    name: str
    title: str
    port: int
    health_path: str
    startup_seconds: int = 0
    host_header: bool = False
    fixed_port: bool = False


STACKS: dict[str, Stack] = {
    s.name: s
    for s in (
        # /actuator/health comes with spring-boot-starter-actuator (the guide says to add it).
        Stack("spring", "Spring Boot (Java 21)", 8080, "/actuator/health", startup_seconds=180),
        Stack("node", "Node.js (LTS)", 3000, "/"),
        # /docs is served by every FastAPI app unless docs_url=None.
        Stack("fastapi", "FastAPI (Python)", 8000, "/docs"),
        # The admin's login page answers 200 in a project from `django-admin startproject`.
        Stack("django", "Django (Python)", 8000, "/admin/login/", host_header=True),
        Stack("static", "Static site (nginx)", 8080, "/", fixed_port=True),
    )
}
# How often a startupProbe polls; its failureThreshold is startup_seconds / this.
STARTUP_PERIOD_SECONDS = 5


def get_stack(name: str) -> Stack | None:
    """The stack called ``name``; None for ``""`` (no stack: the scaffold as without one).

    Raises:
        InvalidInputError: no stack has that name (the message lists the valid ones).
    """
    if not name:
        return None
    stack = STACKS.get(name)
    if stack is None:
        raise InvalidInputError(
            f"stack {name!r} does not exist", hint=f"use one of {', '.join(STACKS)}"
        )
    return stack


def check_port(stack: Stack | None, port: int) -> None:
    """Refuse a port that ``stack``'s image does not listen on (see ``Stack.fixed_port``)."""
    if stack is not None and stack.fixed_port and port != stack.port:
        raise InvalidInputError(
            f"stack {stack.name!r} serves on port {stack.port}, not {port}",
            hint="drop --port (or edit the image's server configuration, then the port)",
        )


def probes(stack: Stack | None, health_path: str, host: str) -> Obj:
    """The probes of an app's container: ``{"readinessProbe": ..., "livenessProbe": ...}``.

    Without a stack (and for stacks that start quickly) liveness waits 10 s before its first
    check; a stack with ``startup_seconds`` gets a startupProbe instead, which holds the other
    two back until the app first answers. ``host`` is the app's public host name, sent as the
    ``Host`` header for stacks that check it.
    """

    def probe() -> Obj:
        # A new dict each time: a YAML dumper writes objects shared between places as aliases.
        http: Obj = {"path": health_path, "port": "http"}
        if stack is not None and stack.host_header:
            http["httpHeaders"] = [{"name": "Host", "value": host}]
        return {"httpGet": http}

    out: Obj = {}
    if stack is not None and stack.startup_seconds:
        out["startupProbe"] = {
            **probe(),
            "periodSeconds": STARTUP_PERIOD_SECONDS,
            "failureThreshold": stack.startup_seconds // STARTUP_PERIOD_SECONDS,
        }
        out["readinessProbe"] = {**probe(), "periodSeconds": 10, "failureThreshold": 3}
        out["livenessProbe"] = {**probe(), "periodSeconds": 20, "failureThreshold": 3}
        return out
    out["readinessProbe"] = {**probe(), "periodSeconds": 10, "failureThreshold": 3}
    out["livenessProbe"] = {
        **probe(),
        "initialDelaySeconds": 10,
        "periodSeconds": 20,
        "failureThreshold": 3,
    }
    return out
