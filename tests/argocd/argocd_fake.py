"""An in-process fake Argo CD API server that checks every request against swagger.json.

State (projects, applications, tokens) lives in memory. Each request is matched against the
published swagger (path template, method, query parameters and types, closed JSON body) and
Application/AppProject bodies against the CRD schemas; a mismatch is recorded in
``violations`` and answered like Argo CD answers a bad request, so the test fails twice over.

Applications progress like a controller would, one step per read: a requested sync starts
(Running), finishes (Succeeded, Synced, Progressing) and settles (Healthy, or the scenario's
failure with a resource tree and events that explain it).

The same handler serves a real HTTP(S) server on 127.0.0.1 (``start``) and an
``httpx.MockTransport`` (``transport``).
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
from argocd_swagger import Violation, check_request, validate_crd

# Argo CD's git.SameURL (pinned by tests/argocd/test_argocd_repositories.py).
from kuploy_gitops.repourl import normalise as same_url_key

Obj = dict[str, Any]

SCENARIOS = ("healthy", "psa", "quota", "imagepull", "crashloop", "readiness", "syncfail")
REVISION = "4f1c2b9e8d7a6c5b4a3f2e1d0c9b8a7f6e5d4c3b"


class Reply(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        self.status = status
        self.body = {"error": message, "code": code, "message": message}
        super().__init__(message)


@dataclass
class TokenInfo:
    subject: str
    project: str | None = None  # project-role tokens are limited to their project


@dataclass
class Sim:
    scenario: str = "healthy"
    stage: int = -1  # -1: never synced; 0: sync requested; 1 running; 2 done; 3 settled


@dataclass
class FakeArgoCD:
    root_path: str = ""
    users: dict[str, str] = field(default_factory=lambda: {"admin": "pa55-w0rd-secret"})
    tokens: dict[str, TokenInfo] = field(default_factory=dict)
    projects: dict[str, Obj] = field(default_factory=dict)
    apps: dict[str, Obj] = field(default_factory=dict)
    sims: dict[str, Sim] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (method, op id, path)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before real work
    hold: threading.Event | None = None  # when set (by a test), requests wait on it
    deletion_reads: int = 1  # reads until a deleted app is gone
    stuck: set[str] = field(default_factory=set)  # apps whose finalizer never finishes
    scenario_for: dict[str, str] = field(default_factory=dict)
    deleting: dict[str, int] = field(default_factory=dict)  # app -> reads left
    pending_project_removals: set[str] = field(default_factory=set)
    # Repositories as Argo CD keeps them (with their secrets), by (normalised URL, project).
    repositories: dict[tuple[str, str], Obj] = field(default_factory=dict)
    # Whether the repo-server could fetch with a stored repository (tests wire it to the fake
    # GitHub's deploy keys); None: every connection succeeds.
    can_connect: Callable[[Obj], bool] | None = None
    _serial: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # ----------------------------------------------------------------- serving

    def add_token(self, token: str, subject: str = "kuploy", project: str | None = None) -> None:
        self.tokens[token] = TokenInfo(subject, project)

    def expire_sessions(self) -> None:
        for token in [t for t, info in self.tokens.items() if info.subject.startswith("user:")]:
            del self.tokens[token]

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, str]:
        """Answer one request: (status, body, content type)."""
        split = urlsplit(raw_path)
        # Matched still encoded, as the gateway does: a repository URL is one path segment
        # (its slashes sent as %2F); check_request decodes each path parameter.
        path = split.path
        prefix = "/" + self.root_path.strip("/") if self.root_path.strip("/") else ""
        if prefix:
            if not path.startswith(prefix + "/"):
                return 404, b"404 page not found\n", "text/plain"
            path = path[len(prefix) :]
        if self.hold is not None:
            self.hold.wait(10)
        query = parse_qsl(split.query, keep_blank_values=True)
        with self._lock:
            try:
                op, params, parsed = check_request(
                    method, path, query, body, headers.get("content-type", "")
                )
            except Violation as exc:
                self.violations.append(f"{method} {raw_path}: {exc}")
                return self._json(400, {"error": str(exc), "code": 3, "message": str(exc)})
            self.calls.append((method, op.operation_id, unquote(path)))
            if self.fail_next:
                status = self.fail_next.pop(0)
                return self._json(
                    status,
                    {
                        "error": "upstream unavailable",
                        "code": 14,
                        "message": "upstream unavailable",
                    },
                )
            try:
                who = self._auth(op.operation_id, headers)
                handler = getattr(self, "op_" + op.operation_id, None)
                if handler is None:
                    raise Reply(501, 12, f"fake does not implement {op.operation_id}")
                result = handler(who, params, dict(_multi(query)), parsed)
            except Reply as reply:
                return self._json(reply.status, reply.body)
            except Violation as exc:
                self.violations.append(f"{method} {raw_path}: {exc}")
                return self._json(400, {"error": str(exc), "code": 3, "message": str(exc)})
            return self._json(200, result)

    @staticmethod
    def _json(status: int, data: Any) -> tuple[int, bytes, str]:
        return status, json.dumps(data).encode(), "application/json"

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            status, body, ctype = self.handle(
                request.method,
                request.url.raw_path.decode(),
                {k.lower(): v for k, v in request.headers.items()},
                request.read(),
            )
            return httpx.Response(status, content=body, headers={"content-type": ctype})

        return httpx.MockTransport(handler)

    def start(self, tls: ssl.SSLContext | None = None) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, data, ctype = fake.handle(self.command, self.path, headers, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # aborted TLS handshakes and dropped clients are expected here

        server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        scheme = "https" if tls is not None else "http"
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(5)
            self._server = None

    # ----------------------------------------------------------------- auth and RBAC

    def _auth(self, op_id: str, headers: dict[str, str]) -> TokenInfo | None:
        if op_id == "SessionService_Create":
            return None
        value = headers.get("authorization", "")
        if not value.startswith("Bearer ") or value[7:] not in self.tokens:
            raise Reply(401, 16, "invalid session: token is expired or unknown")
        return self.tokens[value[7:]]

    @staticmethod
    def _allow(who: TokenInfo | None, action: str, project: str, name: str) -> None:
        if who is None or who.project is None:
            return
        if who.project != project or action not in ("get", "sync"):
            raise Reply(
                403,
                7,
                f"permission denied: applications, {action}, {project}/{name}, sub: {who.subject}",
            )

    # ----------------------------------------------------------------- session

    def op_SessionService_Create(self, who: Any, params: Obj, query: Obj, body: Obj) -> Obj:
        user, password = body.get("username", ""), body.get("password", "")
        if self.users.get(user) != password or not password:
            raise Reply(401, 16, "Invalid username or password")
        token = f"session-{next(self._serial)}-eyJhbGciOiJIUzI1NiJ9.fake.{user}"
        self.tokens[token] = TokenInfo(f"user:{user}")
        return {"token": token}

    # ----------------------------------------------------------------- projects

    def op_ProjectService_Create(self, who: TokenInfo, params: Obj, query: Obj, body: Obj) -> Obj:
        if who.project is not None:
            raise Reply(403, 7, "permission denied: projects, create")
        project = body.get("project") or {}
        validate_crd("appproject-crd.yaml", project, "AppProject body")
        name = project["metadata"]["name"]
        current = self.projects.get(name)
        if (
            current is not None
            and current.get("spec") != project.get("spec")
            and not body.get("upsert")
        ):
            raise Reply(
                400, 3, "existing project spec is different, use upsert flag to force update"
            )
        stored = copy.deepcopy(project)
        stored["metadata"].setdefault("namespace", "argocd")
        stored["metadata"]["resourceVersion"] = str(next(self._serial))
        if current is not None:
            stored["status"] = current.get("status", {})
        self.projects[name] = stored
        return stored

    def _project(self, name: str) -> Obj:
        if name not in self.projects:
            raise Reply(404, 5, f'appprojects.argoproj.io "{name}" not found')
        return self.projects[name]

    def op_ProjectService_Get(self, who: TokenInfo, params: Obj, query: Obj, body: Any) -> Obj:
        if who.project is not None and who.project != params["name"]:
            raise Reply(403, 7, "permission denied: projects, get")
        self._advance_deletions()
        return self._project(params["name"])

    def op_ProjectService_Delete(self, who: TokenInfo, params: Obj, query: Obj, body: Any) -> Obj:
        self._project(params["name"])
        users = [a for a in self.apps.values() if a["spec"]["project"] == params["name"]]
        if users:
            raise Reply(400, 9, f"project is referenced by {len(users)} applications")
        del self.projects[params["name"]]
        return {}

    def op_ProjectService_CreateToken(
        self, who: TokenInfo, params: Obj, query: Obj, body: Obj
    ) -> Obj:
        project = self._project(params["project"])
        roles = {r["name"]: r for r in project["spec"].get("roles") or []}
        if params["role"] not in roles:
            raise Reply(
                404, 5, f"project '{params['project']}' does not have role '{params['role']}'"
            )
        token = f"proj-{params['project']}-{next(self._serial)}-eyJfake"
        self.tokens[token] = TokenInfo(
            f"proj:{params['project']}:{params['role']}", params["project"]
        )
        items = (
            project.setdefault("status", {})
            .setdefault("jwtTokensByRole", {})
            .setdefault(params["role"], {"items": []})["items"]
        )
        items.append(
            {
                "iat": 1700000000,
                "exp": 1700000000 + int(body.get("expiresIn", 0)),
                "id": body.get("id", ""),
            }
        )
        return {"token": token}

    # ----------------------------------------------------------------- applications

    def _app(self, name: str) -> Obj:
        if name not in self.apps:
            raise Reply(404, 5, f'applications.argoproj.io "{name}" not found')
        return self.apps[name]

    def op_ApplicationService_Create(
        self, who: TokenInfo, params: Obj, query: Obj, body: Obj
    ) -> Obj:
        validate_crd("application-crd.yaml", body, "Application body")
        spec, name = body["spec"], body["metadata"]["name"]
        self._allow(who, "create", spec.get("project", ""), name)
        project = self.projects.get(spec.get("project", ""))
        if project is None:
            raise Reply(
                400, 3, f"application references project {spec.get('project')} which does not exist"
            )
        if query.get("validate", ["true"])[0] == "true":
            self._validate_against_project(name, spec, project)
        current = self.apps.get(name)
        if current is not None:
            if current["spec"] == spec and current["metadata"].get("labels") == body[
                "metadata"
            ].get("labels"):
                return current
            if query.get("upsert", ["false"])[0] != "true":
                raise Reply(
                    400,
                    3,
                    "existing application spec is different, use upsert flag to force update",
                )
            current["spec"] = copy.deepcopy(spec)
            current["metadata"].update(copy.deepcopy(body["metadata"]))
            return current
        stored = copy.deepcopy(body)
        stored["metadata"].setdefault("namespace", "argocd")
        stored["metadata"]["uid"] = f"uid-{name}"
        stored["status"] = {"sync": {"status": "OutOfSync"}, "health": {"status": "Missing"}}
        self.apps[name] = stored
        self.sims[name] = Sim(self.scenario_for.get(name, "healthy"))
        return stored

    @staticmethod
    def _validate_against_project(name: str, spec: Obj, project: Obj) -> None:
        repo = (spec.get("source") or {}).get("repoURL", "")
        if not any(fnmatch.fnmatch(repo, g) for g in project["spec"].get("sourceRepos") or []):
            raise Reply(
                400,
                3,
                f"application repo {repo} is not permitted in project "
                f"'{project['metadata']['name']}'",
            )
        dest = spec.get("destination") or {}
        for d in project["spec"].get("destinations") or []:
            if fnmatch.fnmatch(dest.get("namespace", ""), d.get("namespace", "")) and (
                fnmatch.fnmatch(dest.get("server", ""), d.get("server", "*"))
            ):
                return
        raise Reply(
            400,
            3,
            f"application destination {dest} is not permitted in project "
            f"'{project['metadata']['name']}'",
        )

    def op_ApplicationService_Get(self, who: TokenInfo, params: Obj, query: Obj, body: Any) -> Obj:
        name = params["name"]
        self._advance_deletions()
        app = self._app(name)
        wanted = query.get("project")
        if wanted and app["spec"]["project"] not in wanted:
            raise Reply(403, 7, f"permission denied: applications, get, {wanted[0]}/{name}")
        self._allow(who, "get", app["spec"]["project"], name)
        self._advance(name)
        return app

    def op_ApplicationService_List(self, who: TokenInfo, params: Obj, query: Obj, body: Any) -> Obj:
        self._advance_deletions()
        projects = query.get("projects") or query.get("project")
        selector = _parse_selector((query.get("selector") or [""])[0])
        items = []
        for app in self.apps.values():
            if projects and app["spec"]["project"] not in projects:
                continue
            labels = app["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in selector.items()):
                continue
            if who.project is not None and app["spec"]["project"] != who.project:
                continue
            items.append(app)
        return {"items": items, "metadata": {}}

    def op_ApplicationService_Sync(self, who: TokenInfo, params: Obj, query: Obj, body: Obj) -> Obj:
        app = self._app(params["name"])
        self._allow(who, "sync", app["spec"]["project"], params["name"])
        if app["metadata"].get("deletionTimestamp"):
            raise Reply(400, 9, "application is being deleted")
        op: Obj = {
            "sync": {
                "revision": body.get("revision") or REVISION,
                "prune": bool(body.get("prune")),
                "dryRun": bool(body.get("dryRun")),
            }
        }
        if body.get("resources"):
            op["sync"]["resources"] = body["resources"]
        app["operation"] = op
        self.sims[params["name"]].stage = 0
        return app

    def op_ApplicationService_Delete(
        self, who: TokenInfo, params: Obj, query: Obj, body: Any
    ) -> Obj:
        app = self._app(params["name"])
        self._allow(who, "delete", app["spec"]["project"], params["name"])
        cascade = query.get("cascade", ["true"])[0] == "true"
        if query.get("propagationPolicy") and not cascade:
            raise Reply(400, 3, "cannot set propagation policy when cascading is disabled")
        app["metadata"]["deletionTimestamp"] = "2026-11-27T00:00:00Z"
        self.deleting[params["name"]] = self.deletion_reads
        return {}

    def op_ApplicationService_ResourceTree(
        self, who: TokenInfo, params: Obj, query: Obj, body: Any
    ) -> Obj:
        name = params["applicationName"]
        app = self._app(name)
        self._allow(who, "get", app["spec"]["project"], name)
        return {"nodes": self._tree(name)}

    def op_ApplicationService_ListResourceEvents(
        self, who: TokenInfo, params: Obj, query: Obj, body: Any
    ) -> Obj:
        name = params["name"]
        app = self._app(name)
        self._allow(who, "get", app["spec"]["project"], name)
        uid = (query.get("resourceUID") or [""])[0]
        return {"items": self._events(name, uid), "metadata": {}}

    # ----------------------------------------------------------------- repositories

    def op_RepositoryService_ListRepositories(
        self, who: TokenInfo, params: Obj, query: Obj, body: Any
    ) -> Obj:
        items = []
        for repo in self.repositories.values():
            if who.project is not None and repo.get("project") != who.project:
                continue
            ok = self.can_connect is None or self.can_connect(repo)
            items.append(
                {  # Argo CD never lists secrets
                    "repo": repo["repo"],
                    "type": repo.get("type") or "git",
                    "project": repo.get("project", ""),
                    "connectionState": {
                        "status": "Successful" if ok else "Failed",
                        "message": "" if ok else "Unable to connect to repository: auth failed",
                    },
                }
            )
        return {"items": items, "metadata": {}}

    def op_RepositoryService_CreateRepository(
        self, who: TokenInfo, params: Obj, query: Obj, body: Obj
    ) -> Obj:
        if who.project is not None:
            raise Reply(403, 7, "permission denied: repositories, create")
        key = (same_url_key(body.get("repo", "")), body.get("project", ""))
        current = self.repositories.get(key)
        if current is not None and current != body and query.get("upsert") != ["true"]:
            raise Reply(
                400, 3, "existing repository spec is different; use upsert flag to force update"
            )
        self.repositories[key] = copy.deepcopy(body)
        return {"repo": body["repo"], "type": body.get("type", "git")}

    def op_RepositoryService_DeleteRepository(
        self, who: TokenInfo, params: Obj, query: Obj, body: Any
    ) -> Obj:
        if who.project is not None:
            raise Reply(403, 7, "permission denied: repositories, delete")
        url = same_url_key(params["repo"])
        found = [k for k in self.repositories if k[0] == url]
        if not found:
            raise Reply(403, 7, "permission denied")  # what Argo CD answers for an unknown URL
        project = (query.get("appProject") or [""])[0]
        match = [k for k in found if k[1] == project] if project or len(found) > 1 else found
        if not match:
            raise Reply(500, 2, f'repository not found for url "{params["repo"]}"')
        del self.repositories[match[0]]
        return {}

    # ----------------------------------------------------------------- the "controller"

    def remove_project_tree(self, project: str) -> None:
        """What the root app's prune does after an offboarding commit: apps, then project."""
        for name, app in list(self.apps.items()):
            if app["spec"]["project"] == project:
                app["metadata"]["deletionTimestamp"] = "2026-11-27T00:00:00Z"
                self.deleting[name] = self.deletion_reads
        self.pending_project_removals.add(project)

    def _advance_deletions(self) -> None:
        for name, reads_left in list(self.deleting.items()):
            if name in self.stuck:
                continue
            if reads_left <= 0:
                del self.deleting[name]
                self.apps.pop(name, None)
                self.sims.pop(name, None)
            else:
                self.deleting[name] = reads_left - 1
        for project in sorted(self.pending_project_removals):
            if not any(a["spec"]["project"] == project for a in self.apps.values()):
                self.projects.pop(project, None)
                self.pending_project_removals.discard(project)

    def _advance(self, name: str) -> None:
        sim = self.sims.get(name)
        app = self.apps[name]
        if sim is None or sim.stage < 0 or sim.stage >= 3:
            return
        sim.stage += 1
        status = app.setdefault("status", {})
        op = app.get("operation")
        if sim.stage == 1:
            app.pop("operation", None)
            status["operationState"] = {
                "phase": "Running",
                "operation": op,
                "startedAt": "2026-11-27T00:00:01Z",
                "message": "one or more tasks are running",
            }
            status["sync"] = {"status": "OutOfSync"}
            status["health"] = {"status": "Missing"}
            return
        state = status["operationState"]
        if sim.stage == 2:
            revision = state["operation"]["sync"]["revision"]
            if sim.scenario == "syncfail":
                state.update(
                    phase="Failed",
                    message="one or more objects failed to apply",
                    finishedAt="2026-11-27T00:00:02Z",
                    syncResult={
                        "revision": revision,
                        "resources": [
                            {
                                "group": "apps",
                                "version": "v1",
                                "kind": "Deployment",
                                "namespace": app["spec"]["destination"]["namespace"],
                                "name": "web",
                                "status": "SyncFailed",
                                "message": 'Deployment.apps "web" is invalid: spec.template.'
                                "spec.containers[0].image: Required value",
                            }
                        ],
                    },
                )
                status["sync"] = {"status": "OutOfSync", "revision": revision}
                status["health"] = {"status": "Missing"}
                return
            state.update(
                phase="Succeeded",
                message="successfully synced (all tasks run)",
                finishedAt="2026-11-27T00:00:02Z",
                syncResult={"revision": revision, "resources": []},
            )
            status["sync"] = {"status": "Synced", "revision": revision}
            status["health"] = {"status": "Progressing"}
            return
        if sim.scenario == "healthy":
            status["health"] = {"status": "Healthy"}
        elif sim.scenario in ("psa", "quota", "imagepull", "crashloop"):
            status["health"] = {"status": "Degraded"}
        # readiness stays Progressing; syncfail stays Failed

    def _ns(self, name: str) -> str:
        return str(self.apps[name]["spec"]["destination"]["namespace"])

    def _tree(self, name: str) -> list[Obj]:
        sim = self.sims.get(name)
        if sim is None or sim.stage < 2:
            return []
        ns = self._ns(name)
        settled = sim.stage >= 3
        scenario = sim.scenario if settled else "healthy"
        dep_health = {"status": "Healthy" if settled and scenario == "healthy" else "Progressing"}
        if scenario in ("psa", "quota"):
            dep_health = {
                "status": "Degraded",
                "message": 'Deployment "web" exceeded its progress deadline',
            }
        nodes: list[Obj] = [
            {
                "group": "apps",
                "version": "v1",
                "kind": "Deployment",
                "namespace": ns,
                "name": "web",
                "uid": "uid-dep",
                "health": dep_health,
            },
            {
                "group": "",
                "version": "v1",
                "kind": "Service",
                "namespace": ns,
                "name": "web",
                "uid": "uid-svc",
                "health": {"status": "Healthy"},
            },
        ]
        rs: Obj = {
            "group": "apps",
            "version": "v1",
            "kind": "ReplicaSet",
            "namespace": ns,
            "name": "web-5d9c7b",
            "uid": "uid-rs",
            "health": {"status": "Healthy"},
            "parentRefs": [
                {
                    "group": "apps",
                    "kind": "Deployment",
                    "namespace": ns,
                    "name": "web",
                    "uid": "uid-dep",
                }
            ],
        }
        nodes.append(rs)
        if scenario == "psa":
            rs["health"] = {"status": "Progressing"}
            return nodes
        if scenario == "quota":
            rs["health"] = {
                "status": "Degraded",
                "message": 'pods "web-5d9c7b-x2x" is forbidden: exceeded quota: kuploy-quota, '
                "requested: limits.cpu=4, used: limits.cpu=0, limited: limits.cpu=2",
            }
            return nodes
        pod: Obj = {
            "group": "",
            "version": "v1",
            "kind": "Pod",
            "namespace": ns,
            "name": "web-5d9c7b-x2x",
            "uid": "uid-pod",
            "parentRefs": [
                {
                    "group": "apps",
                    "kind": "ReplicaSet",
                    "namespace": ns,
                    "name": "web-5d9c7b",
                    "uid": "uid-rs",
                }
            ],
            "info": [
                {"name": "Status Reason", "value": "Running"},
                {"name": "Containers", "value": "1/1"},
            ],
            "health": {"status": "Healthy"},
        }
        if scenario == "imagepull":
            pod["info"][0]["value"] = "ImagePullBackOff"
            pod["health"] = {
                "status": "Degraded",
                "message": 'Back-off pulling image "ghcr.io/org/web:1.0-typo"',
            }
        elif scenario == "crashloop":
            pod["info"][0]["value"] = "CrashLoopBackOff"
            pod["health"] = {
                "status": "Degraded",
                "message": "back-off 40s restarting failed container=app "
                "pod=web-5d9c7b-x2x_kim(uid)",
            }
        elif scenario == "readiness":
            pod["info"][1]["value"] = "0/1"
            pod["health"] = {"status": "Progressing"}
        elif not settled:
            pod["health"] = {"status": "Progressing"}
        nodes.append(pod)
        return nodes

    def _events(self, name: str, uid: str) -> list[Obj]:
        sim = self.sims.get(name)
        if sim is None or sim.stage < 3:
            return []
        ns = self._ns(name)

        def event(kind: str, obj: str, reason: str, message: str, kind_: str = "Warning") -> Obj:
            return {
                "metadata": {"name": f"{obj}.{reason.lower()}", "namespace": ns},
                "involvedObject": {"kind": kind, "name": obj, "namespace": ns, "uid": uid},
                "reason": reason,
                "message": message,
                "type": kind_,
                "count": 3,
                "lastTimestamp": "2026-11-27T00:00:03Z",
            }

        if sim.scenario == "psa" and uid == "uid-rs":
            return [
                event("ReplicaSet", "web-5d9c7b", "SuccessfulCreate", "irrelevant", "Normal"),
                event(
                    "ReplicaSet",
                    "web-5d9c7b",
                    "FailedCreate",
                    'Error creating: pods "web-5d9c7b-x2x" is forbidden: violates '
                    'PodSecurity "baseline:v1.34": privileged (container "app" must not set '
                    "securityContext.privileged=true)",
                ),
            ]
        if sim.scenario == "readiness" and uid == "uid-pod":
            return [
                event(
                    "Pod",
                    "web-5d9c7b-x2x",
                    "Unhealthy",
                    "Readiness probe failed: HTTP probe failed with statuscode: 503",
                )
            ]
        return []


def _multi(query: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in query:
        out.setdefault(key, []).append(value)
    return out


def _parse_selector(text: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        out[key.strip()] = value.lstrip("=").strip()
    return out
