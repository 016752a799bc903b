"""An in-process fake GitHub REST server that checks every request against GitHub's OpenAPI.

Real HTTP on 127.0.0.1 in a thread, so PyGithub is exercised for real (``base_url`` points
here). Each request's path, method, query and JSON body is matched against
``tests/data/github/rest-subset.openapi.json``; anything the description does not allow is
answered 422 and recorded in ``violations`` (the fixture fails the test on any). Answers are
built from the documented response schema (required fields filled, then the fake's state laid
over) and validated against it too.

State kept in memory: users, org members and teams, repositories with git objects (real git
blob/tree SHAs), refs, collaborators, invitations and hooks; tokens and one GitHub App.
Faults (errors, rate limits) are injected per method+path pattern.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from providers.fake_github_ops import ApiError, Operations, Repo
from providers.openapi_spec import Route, routes, schema_errors, spec

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


class FakeGitHub(Operations):
    """The fake server's state and behaviour; start with :meth:`start` (or use as a context)."""

    def __init__(
        self, org: str = "konkuk-kuploy", *, prefix: str = "", web_host: str = "github.com"
    ) -> None:
        self.org = org
        self.prefix = prefix  # "/api/v3" serves like GitHub Enterprise Server
        # The host of repos' web and SSH URLs: github.com for api.github.com; an Enterprise
        # Server's own host (the API's) when tests configure the fake as one.
        self.web_host = web_host
        self.users: set[str] = {"kuploy-admin"}
        self.org_members: dict[str, set[str]] = {org: {"kuploy-admin"}}
        self.teams: dict[tuple[str, str], dict[str, str]] = {}  # (org, slug) -> login -> state
        self.repos: dict[str, Repo] = {}  # "owner/name" lowercased
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, dict[str, str]] = {}  # tree sha -> {path: blob sha}
        self.commits: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}  # token -> login
        self.app: tuple[int, Any, int] | None = None  # (app id, public key, installation id)
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, dict[str, list[str]], Any, int]] = []
        self.violations: list[str] = []
        self.now = time.time
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.generate_delay = 0  # ref reads answered "empty" after a generate (GitHub is async)

    # -- set-up helpers ----------------------------------------------------------------------

    def add_token(self, token: str, login: str = "kuploy-admin") -> None:
        self.tokens[token] = login

    def add_user(self, login: str, *, member_of: str | None = None) -> None:
        self.users.add(login)
        if member_of:
            self.org_members.setdefault(member_of, set()).add(login)

    def add_team(self, slug: str) -> None:
        self.teams[(self.org, slug)] = {}

    def set_app(self, app_id: int, public_key_pem: bytes, installation_id: int) -> None:
        self.app = (app_id, public_key_pem, installation_id)

    def add_repo(
        self,
        full_name: str,
        files: dict[str, str],
        *,
        private: bool = False,
        is_template: bool = False,
    ) -> Repo:
        owner, name = full_name.split("/")
        repo = Repo(next(self._ids), owner, name, private, is_template=is_template)
        self.repos[full_name.lower()] = repo
        repo.refs["main"] = self._commit_files({}, files, [], "Initial commit")
        return repo

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        *,
        message: str = "boom",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with an error instead."""
        self.faults.append(
            Fault(
                method,
                re.compile(path_regex),
                status,
                {"message": message, "documentation_url": "https://docs"},
                headers or {},
                times,
            )
        )

    def rate_limit(
        self, method: str, path_regex: str, *, kind: str = "primary", times: int = 1
    ) -> None:
        """Inject GitHub's rate limit answers: primary (403 + reset), secondary, or 429."""
        now = int(self.now())
        if kind == "primary":
            self.fail(
                method,
                path_regex,
                403,
                times=times,
                message="API rate limit exceeded for installation ID 1.",
                headers={
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(now + 42),
                },
            )
        elif kind == "secondary":
            self.fail(
                method,
                path_regex,
                403,
                times=times,
                headers={"retry-after": "30"},
                message="You have exceeded a secondary rate limit. Please wait a few "
                "minutes before you try again.",
            )
        else:
            self.fail(
                method,
                path_regex,
                429,
                times=times,
                headers={"retry-after": "7"},
                message="Too many requests",
            )

    # -- inspection helpers ------------------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        return self.repos[full_name.lower()]

    def files(self, full_name: str, branch: str | None = None) -> dict[str, str]:
        repo = self.repo(full_name)
        sha = repo.refs[branch or repo.default_branch]
        return {p: self.blobs[b].decode() for p, b in self.trees[self.commits[sha]["tree"]].items()}

    def history(self, full_name: str) -> list[str]:
        """Commit messages from the tip of the default branch back to the root."""
        repo = self.repo(full_name)
        out: list[str] = []
        sha: str | None = repo.refs.get(repo.default_branch)
        while sha:
            out.append(self.commits[sha]["message"])
            parents = self.commits[sha]["parents"]
            sha = parents[0] if parents else None
        return out

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _q, _b, status in self.log if m in WRITE_METHODS and status < 400]

    def snapshot(self) -> Any:
        """Everything a client could change (for "a re-run changes nothing")."""
        return copy.deepcopy(
            {
                name: (
                    r.private,
                    r.archived,
                    r.default_branch,
                    dict(r.refs),
                    dict(r.collaborators),
                    dict(r.invitations),
                    {
                        i: {k: v for k, v in h.items() if k != "updated_at"}
                        for i, h in r.hooks.items()
                    },
                )
                for name, r in self.repos.items()
            }
        ) | {"teams": copy.deepcopy(self.teams)}

    # -- server --------------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10
            # Headers and body go out in two writes: with Nagle's algorithm the body waits for
            # the client's delayed ACK (tens of ms a request, most of these tests' time).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, headers, body = fake.handle(
                    self.command, self.path, dict(self.headers.items()), raw
                )
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if body is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"
        # A short poll: stop() (shutdown) waits for the loop's next turn, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling ------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            parsed = urllib.parse.urlsplit(raw_path)
            path = urllib.parse.unquote(parsed.path)
            if self.prefix:
                if not path.startswith(self.prefix + "/"):
                    return self._violation(method, path, {}, None, "outside the API prefix")
                path = path[len(self.prefix) :]
            query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._violation(method, path, query, raw, "body is not JSON")
            status, out_headers, answer = self._dispatch(method, path, query, headers, body)
            self.log.append((method, path, query, body, status))
            return status, out_headers, answer

    def _violation(
        self, method: str, path: str, query: Any, body: Any, why: str
    ) -> tuple[int, dict[str, str], Any]:
        self.violations.append(f"{method} {path}: {why}")
        self.log.append((method, path, query, body, 422))
        return 422, {}, {"message": f"Invalid request: {why}", "documentation_url": "x"}

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, dict[str, str], Any]:
        route, params = self._match(method, path)
        if route is None:
            self.violations.append(f"{method} {path}: not in GitHub's API description")
            return 404, {}, {"message": "Not Found", "documentation_url": "x"}
        op = spec()["paths"][route.template][method.lower()]
        problem = self._check_request(op, route, query, body)
        if problem:
            self.violations.append(f"{method} {path}: {problem}")
            return 422, {}, {"message": f"Invalid request: {problem}", "documentation_url": "x"}
        for fault in self.faults:
            if fault.method == method and fault.pattern.search(path) and fault.times > 0:
                fault.times -= 1
                return fault.status, fault.headers, fault.body
        auth_problem = self._check_auth(route, headers)
        if auth_problem:
            return 401, {}, {"message": "Bad credentials", "documentation_url": "x"}
        handler = getattr(self, "op_" + re.sub(r"\W", "_", op["operationId"]), None)
        if handler is None:
            self.violations.append(f"{method} {route.template}: the fake does not implement it")
            return 501, {}, {"message": "not implemented", "documentation_url": "x"}
        try:
            status, answer = handler(params, query, body or {})
        except ApiError as exc:
            return exc.status, {}, {"message": exc.message, "documentation_url": "x"}
        code = str(status)
        content = op["responses"].get(code, {}).get("content", {})
        if code not in op["responses"]:
            self.violations.append(f"{method} {route.template}: answered undocumented {code}")
        elif "application/json" in content and answer is not None:
            for err in schema_errors(method.lower(), route.template, code, answer):
                self.violations.append(f"fake answer to {method} {route.template}: {err}")
        return status, {}, answer

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in routes():
            if route.method != method:
                continue
            m = route.regex.match(path)
            if m:
                return route, dict(zip(route.names, m.groups(), strict=True))
        return None, {}

    def _check_request(
        self, op: dict[str, Any], route: Route, query: dict[str, list[str]], body: Any
    ) -> str | None:
        declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        for key, values in query.items():
            if key not in declared:
                return f"query parameter {key!r} is not documented"
            schema = declared[key].get("schema", {})
            for value in values:
                if schema.get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
                    return f"query parameter {key}={value!r} is not an integer"
                if "enum" in schema and value not in schema["enum"]:
                    return f"query parameter {key}={value!r} is not one of {schema['enum']}"
        request_body = op.get("requestBody")
        if request_body is None:
            if body not in (None, {}):
                return "a body was sent but the operation takes none"
            return None
        if body is None:
            return "missing JSON body" if request_body.get("required") else None
        if "application/json" not in request_body.get("content", {}):
            return "the operation does not take JSON"
        errors = schema_errors(route.method.lower(), route.template, "request", body)
        return "; ".join(errors) if errors else None

    def _check_auth(self, route: Route, headers: dict[str, str]) -> bool:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, credential = auth.partition(" ")
        if route.template.startswith("/app") or route.template.endswith("/installation"):
            if scheme.lower() != "bearer" or self.app is None:
                return True
            try:
                claims = jwt.decode(credential, self.app[1], algorithms=["RS256"])
            except jwt.PyJWTError:
                return True
            return str(claims.get("iss")) != str(self.app[0])
        return credential not in self.tokens

    def iter_requests(self) -> Iterator[tuple[str, str]]:
        for method, path, _q, _b, _s in self.log:
            yield method, path
