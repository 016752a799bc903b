"""The fake GitHub's operations (one method per operationId) and its git objects.

Mixed into :class:`providers.fake_github.FakeGitHub`, which owns the state these methods read
and change and checks every request and answer against GitHub's API description.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from providers.openapi_spec import deep_merge, example, spec

# ------------------------------------------------------------------------------------------
# Git objects (real SHA-1s, so a client can compare blob SHAs it computes itself)


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def _tree_sha(entries: dict[str, Any]) -> str:
    body = b""
    for name in sorted(entries, key=lambda n: n + "/" if isinstance(entries[n], dict) else n):
        value = entries[name]
        if isinstance(value, dict):
            body += b"40000 " + name.encode() + b"\x00" + bytes.fromhex(_tree_sha(value))
        else:
            body += b"100644 " + name.encode() + b"\x00" + bytes.fromhex(value)
    return hashlib.sha1(b"tree %d\x00" % len(body) + body).hexdigest()


def _nest(files: dict[str, str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, sha in files.items():
        node = root
        *dirs, leaf = path.split("/")
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = sha
    return root


def tree_sha(files: dict[str, str]) -> str:
    return _tree_sha(_nest(files))


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    private: bool
    is_template: bool = False
    archived: bool = False
    description: str = ""
    default_branch: str = "main"
    refs: dict[str, str] = field(default_factory=dict)  # branch -> commit sha
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> admin/write/read
    invitations: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (login, perm)
    hooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: dict[int, dict[str, Any]] = field(default_factory=dict)  # deploy keys by id
    empty_reads: int = 0  # answer "Git Repository is empty." this many times (async generate)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class Operations:
    """Operations of the fake; ``self`` is a FakeGitHub."""

    # Set by FakeGitHub.__init__.
    base_url: str
    web_host: str
    repos: dict[str, Repo]
    blobs: dict[str, bytes]
    trees: dict[str, dict[str, str]]
    commits: dict[str, dict[str, Any]]
    users: set[str]
    org_members: dict[str, set[str]]
    teams: dict[tuple[str, str], dict[str, str]]
    tokens: dict[str, str]
    app: tuple[int, Any, int] | None
    generate_delay: int
    violations: list[str]
    _ids: Iterator[int]

    # -- JSON bodies of the documented shapes ------------------------------------------------------

    def _shape(self, method: str, template: str, status: str, over: dict[str, Any]) -> Any:
        op = spec()["paths"][template][method]
        schema = op["responses"][status]["content"]["application/json"]["schema"]
        if schema.get("type") == "array":
            schema = schema["items"]
        return deep_merge(example(schema), over)

    def _user(self, login: str, kind: str = "User") -> dict[str, Any]:
        base = example(
            spec()["paths"]["/users/{username}"]["get"]["responses"]["200"]["content"][
                "application/json"
            ]["schema"]["oneOf"][1]
        )
        return deep_merge(
            base,
            {
                "login": login,
                "id": abs(hash(login)) % 10**6,
                "type": kind,
                "url": f"{self.base_url}/users/{login}",
            },
        )

    def _simple_user(self, login: str, kind: str = "User") -> dict[str, Any]:
        schema = spec()["paths"]["/repos/{owner}/{repo}/collaborators/{username}/permission"][
            "get"
        ]["responses"]["200"]["content"]["application/json"]["schema"]
        user = example({k: v for k, v in schema["properties"]["user"].items() if k != "nullable"})
        return deep_merge(
            user,
            {
                "login": login,
                "id": abs(hash(login)) % 10**6,
                "type": kind,
                "url": f"{self.base_url}/users/{login}",
            },
        )

    def _repo_json(
        self,
        repo: Repo,
        template: str = "/repos/{owner}/{repo}",
        method: str = "get",
        status: str = "200",
    ) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{repo.full_name}"
        web = f"https://{self.web_host}/{repo.full_name}"
        return self._shape(
            method,
            template,
            status,
            {
                "id": repo.id,
                "node_id": f"R_{repo.id}",
                "name": repo.name,
                "full_name": repo.full_name,
                "owner": self._simple_user(repo.owner, "Organization"),
                "private": repo.private,
                "visibility": "private" if repo.private else "public",
                "archived": repo.archived,
                "description": repo.description or None,
                "is_template": repo.is_template,
                "default_branch": repo.default_branch,
                "url": api,
                "html_url": web,
                "clone_url": f"{web}.git",
                "git_url": f"git://{self.web_host}/{repo.full_name}.git",
                "ssh_url": f"git@{self.web_host}:{repo.full_name}.git",
                "hooks_url": f"{api}/hooks",
            },
        )

    # -- git objects ---------------------------------------------------------------------------

    def _commit_files(
        self, base: dict[str, str], files: dict[str, str], parents: list[str], message: str
    ) -> str:
        tree = dict(base)
        for path, text in files.items():
            data = text.encode()
            sha = blob_sha(data)
            self.blobs[sha] = data
            tree[path] = sha
        tsha = tree_sha(tree)
        self.trees[tsha] = tree
        return self._make_commit(tsha, parents, message)

    def _make_commit(self, tsha: str, parents: list[str], message: str) -> str:
        payload = f"tree {tsha}\n" + "".join(f"parent {p}\n" for p in parents) + f"\n{message}"
        csha = hashlib.sha1(f"commit {next(self._ids)}\x00{payload}".encode()).hexdigest()
        self.commits[csha] = {"tree": tsha, "parents": list(parents), "message": message}
        return csha

    def _commit_json(self, repo: Repo, sha: str) -> dict[str, Any]:
        c = self.commits[sha]
        api = f"{self.base_url}/repos/{repo.full_name}"
        person = {"name": "kuploy", "email": "k@example.invalid", "date": "2026-01-01T00:00:00Z"}
        return self._shape(
            "get",
            "/repos/{owner}/{repo}/git/commits/{commit_sha}",
            "200",
            {
                "sha": sha,
                "node_id": f"C_{sha[:8]}",
                "url": f"{api}/git/commits/{sha}",
                "html_url": f"https://{self.web_host}/{repo.full_name}/commit/{sha}",
                "author": person,
                "committer": person,
                "message": c["message"],
                "tree": {"sha": c["tree"], "url": f"{api}/git/trees/{c['tree']}"},
                "parents": [
                    {
                        "sha": p,
                        "url": f"{api}/git/commits/{p}",
                        "html_url": f"https://github.com/c/{p}",
                    }
                    for p in c["parents"]
                ],
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
        )

    def _ref_json(self, repo: Repo, branch: str) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{repo.full_name}"
        sha = repo.refs[branch]
        return {
            "ref": f"refs/heads/{branch}",
            "node_id": f"REF_{repo.id}",
            "url": f"{api}/git/refs/heads/{branch}",
            "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
        }

    def _hook_json(self, repo: Repo, hook_id: int) -> dict[str, Any]:
        h = self.repos[repo.full_name.lower()].hooks[hook_id]
        api = f"{self.base_url}/repos/{repo.full_name}/hooks/{hook_id}"
        config = {k: v for k, v in h["config"].items() if k != "secret"}
        if "secret" in h["config"]:
            config["secret"] = "********"  # GitHub never returns a webhook secret
        return self._shape(
            "get",
            "/repos/{owner}/{repo}/hooks/{hook_id}",
            "200",
            {
                "type": "Repository",
                "id": hook_id,
                "name": "web",
                "active": h["active"],
                "events": h["events"],
                "config": config,
                "url": api,
                "test_url": f"{api}/tests",
                "ping_url": f"{api}/pings",
                "deliveries_url": f"{api}/deliveries",
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "last_response": {"code": None, "status": "unused", "message": None},
            },
        )

    # -- helpers for operations ----------------------------------------------------------------

    def _get_repo(self, params: dict[str, str]) -> Repo:
        repo = self.repos.get(f"{params['owner']}/{params['repo']}".lower())
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    def _writable(self, repo: Repo) -> None:
        if repo.archived:
            raise ApiError(403, "Repository was archived so is read-only.")

    def _new_repo(self, owner: str, name: str, private: bool) -> Repo:
        if f"{owner}/{name}".lower() in self.repos:
            raise ApiError(422, "Repository creation failed.")
        repo = Repo(next(self._ids), owner, name, private)
        self.repos[repo.full_name.lower()] = repo
        return repo

    # -- operations (named after the operationId) ---------------------------------------------

    def op_users_get_by_username(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        if p["username"] not in self.users:
            raise ApiError(404, "Not Found")
        return 200, self._user(p["username"])

    def op_orgs_get(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        if p["org"] not in self.org_members:
            raise ApiError(404, "Not Found")
        return 200, self._shape(
            "get",
            "/orgs/{org}",
            "200",
            {
                "login": p["org"],
                "id": 77,
                "url": f"{self.base_url}/orgs/{p['org']}",
                "repos_url": f"{self.base_url}/orgs/{p['org']}/repos",
                "type": "Organization",
            },
        )

    def op_repos_create_in_org(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        if p["org"] not in self.org_members:
            raise ApiError(404, "Not Found")
        private = b.get("private", False) or b.get("visibility") == "private"
        repo = self._new_repo(p["org"], b["name"], private)
        repo.description = str(b.get("description") or "")
        if b.get("auto_init"):
            repo.refs["main"] = self._commit_files(
                {}, {"README.md": f"# {repo.name}\n"}, [], "Initial commit"
            )
        return 201, self._repo_json(repo, "/orgs/{org}/repos", "post", "201")

    def op_repos_create_using_template(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        template = self.repos.get(f"{p['template_owner']}/{p['template_repo']}".lower())
        if template is None or not template.is_template:
            raise ApiError(404, "Not Found")
        repo = self._new_repo(b.get("owner") or "kuploy-admin", b["name"], bool(b.get("private")))
        repo.description = str(b.get("description") or "")
        tip = self.commits[template.refs[template.default_branch]]
        repo.refs["main"] = self._make_commit(tip["tree"], [], "Initial commit")
        repo.empty_reads = self.generate_delay
        return 201, self._repo_json(
            repo, "/repos/{template_owner}/{template_repo}/generate", "post", "201"
        )

    def op_repos_get(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        return 200, self._repo_json(self._get_repo(p))

    def op_repos_update(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        if repo.archived and b.get("archived") is not False:
            self._writable(repo)
        if "private" in b:
            repo.private = bool(b["private"])
        if "visibility" in b:
            repo.private = b["visibility"] == "private"
        if "archived" in b:
            repo.archived = bool(b["archived"])
        if "description" in b:
            repo.description = str(b["description"] or "")
        return 200, self._repo_json(repo, "/repos/{owner}/{repo}", "patch", "200")

    def op_git_get_ref(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        if repo.empty_reads > 0:
            repo.empty_reads -= 1
            raise ApiError(409, "Git Repository is empty.")
        if not repo.refs:
            raise ApiError(409, "Git Repository is empty.")
        branch = p["ref"].removeprefix("heads/")
        if not p["ref"].startswith("heads/") or branch not in repo.refs:
            raise ApiError(404, "Not Found")
        return 200, self._ref_json(repo, branch)

    def op_git_update_ref(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        branch = p["ref"].removeprefix("heads/")
        if branch not in repo.refs:
            raise ApiError(422, "Reference does not exist")
        if b["sha"] not in self.commits:
            raise ApiError(422, "Object does not exist")
        if not b.get("force") and repo.refs[branch] not in self._ancestors(b["sha"]):
            raise ApiError(422, "Update is not a fast forward")
        repo.refs[branch] = b["sha"]
        return 200, self._ref_json(repo, branch)

    def _ancestors(self, sha: str) -> set[str]:
        seen: set[str] = set()
        todo = [sha]
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo.extend(self.commits[s]["parents"])
        return seen

    def op_git_get_commit(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        if p["commit_sha"] not in self.commits:
            raise ApiError(404, "Not Found")
        return 200, self._commit_json(repo, p["commit_sha"])

    def op_git_get_tree(
        self, p: dict[str, str], q: dict[str, list[str]], b: Any
    ) -> tuple[int, Any]:
        repo = self._get_repo(p)
        files = self.trees.get(p["tree_sha"])
        if files is None:
            raise ApiError(404, "Not Found")
        if not q.get("recursive"):
            self.violations.append("the fake only serves recursive tree reads")
        api = f"{self.base_url}/repos/{repo.full_name}/git"
        entries: list[dict[str, Any]] = []
        dirs = sorted(
            {"/".join(path.split("/")[:i]) for path in files for i in range(1, path.count("/") + 1)}
        )
        for d in dirs:
            sub = {k[len(d) + 1 :]: v for k, v in files.items() if k.startswith(d + "/")}
            entries.append(
                {
                    "path": d,
                    "mode": "040000",
                    "type": "tree",
                    "sha": tree_sha(sub),
                    "url": f"{api}/trees/{tree_sha(sub)}",
                }
            )
        for path, sha in sorted(files.items()):
            entries.append(
                {
                    "path": path,
                    "mode": "100644",
                    "type": "blob",
                    "sha": sha,
                    "size": len(self.blobs[sha]),
                    "url": f"{api}/blobs/{sha}",
                }
            )
        return 200, {
            "sha": p["tree_sha"],
            "url": f"{api}/trees/{p['tree_sha']}",
            "truncated": False,
            "tree": entries,
        }

    def op_git_create_tree(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        base: dict[str, str] = {}
        if "base_tree" in b:
            if b["base_tree"] not in self.trees:
                raise ApiError(422, "Invalid tree info")
            base = dict(self.trees[b["base_tree"]])
        for entry in b["tree"]:
            if entry.get("type") != "blob" or "content" not in entry:
                raise ApiError(422, "the fake takes blob entries with content only")
            data = entry["content"].encode()
            self.blobs[blob_sha(data)] = data
            base[entry["path"]] = blob_sha(data)
        tsha = tree_sha(base)
        self.trees[tsha] = base
        api = f"{self.base_url}/repos/{repo.full_name}/git"
        return 201, {
            "sha": tsha,
            "url": f"{api}/trees/{tsha}",
            "truncated": False,
            "tree": [
                {
                    "path": k,
                    "mode": "100644",
                    "type": "blob",
                    "sha": v,
                    "size": len(self.blobs[v]),
                    "url": f"{api}/blobs/{v}",
                }
                for k, v in sorted(base.items())
            ],
        }

    def op_git_create_commit(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        if b["tree"] not in self.trees or any(x not in self.commits for x in b.get("parents", [])):
            raise ApiError(422, "Tree or parent SHA does not exist")
        sha = self._make_commit(b["tree"], b.get("parents", []), b["message"])
        body = self._commit_json(repo, sha)
        return 201, self._shape("post", "/repos/{owner}/{repo}/git/commits", "201", body)

    def op_repos_check_collaborator(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        if p["username"] not in repo.collaborators:
            raise ApiError(404, "Not Found")
        return 204, None

    def op_repos_get_collaborator_permission_level(
        self, p: dict[str, str], q: Any, b: Any
    ) -> tuple[int, Any]:
        repo = self._get_repo(p)
        perm = repo.collaborators.get(p["username"])
        if perm is None:
            raise ApiError(404, "Not Found")  # GitHub: "is not a user" for strangers
        return 200, {
            "permission": perm,
            "role_name": perm,
            "user": self._shape(
                "get",
                "/repos/{owner}/{repo}/collaborators",
                "200",
                {
                    "login": p["username"],
                    "id": 5,
                    "type": "User",
                    "url": f"{self.base_url}/users/{p['username']}",
                },
            ),
        }

    def op_repos_add_collaborator(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        login = p["username"]
        if login not in self.users:
            raise ApiError(404, "Not Found")
        perm = {
            "pull": "read",
            "push": "write",
            "admin": "admin",
            "maintain": "maintain",
            "triage": "triage",
        }.get(b.get("permission", "push"))
        if perm is None:
            raise ApiError(422, "Validation Failed")
        if login in self.org_members.get(repo.owner, set()) or login in repo.collaborators:
            repo.collaborators[login] = perm
            return 204, None
        for inv_id, (who, _perm) in list(repo.invitations.items()):
            if who == login:
                del repo.invitations[inv_id]
        inv_id = next(self._ids)
        repo.invitations[inv_id] = (login, perm)
        return 201, self._invitation_json(
            repo, inv_id, "/repos/{owner}/{repo}/collaborators/{username}", "put", "201"
        )

    def _invitation_json(
        self, repo: Repo, inv_id: int, template: str, method: str, status: str
    ) -> Any:
        login, perm = repo.invitations[inv_id]
        return self._shape(
            method,
            template,
            status,
            {
                "id": inv_id,
                "permissions": perm,
                "invitee": self._simple_user(login),
                "inviter": self._simple_user("kuploy-admin"),
                "url": f"{self.base_url}/repos/{repo.full_name}/invitations/{inv_id}",
                "repository": {
                    "id": repo.id,
                    "name": repo.name,
                    "full_name": repo.full_name,
                    "owner": self._simple_user(repo.owner, "Organization"),
                    "private": repo.private,
                    "url": f"{self.base_url}/repos/{repo.full_name}",
                },
            },
        )

    def op_repos_list_invitations(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        return 200, [
            self._invitation_json(repo, i, "/repos/{owner}/{repo}/invitations", "get", "200")
            for i in sorted(repo.invitations)
        ]

    def op_repos_remove_collaborator(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        repo.collaborators.pop(p["username"], None)
        return 204, None

    def op_teams_get_by_name(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        if (p["org"], p["team_slug"]) not in self.teams:
            raise ApiError(404, "Not Found")
        return 200, self._shape(
            "get",
            "/orgs/{org}/teams/{team_slug}",
            "200",
            {
                "id": 99,
                "slug": p["team_slug"],
                "name": p["team_slug"],
                "url": f"{self.base_url}/orgs/{p['org']}/teams/{p['team_slug']}",
                "organization": {
                    "login": p["org"],
                    "id": 77,
                    "url": f"{self.base_url}/orgs/{p['org']}",
                },
            },
        )

    def op_teams_add_or_update_membership_for_user_in_org(
        self, p: dict[str, str], q: Any, b: Any
    ) -> tuple[int, Any]:
        members = self.teams.get((p["org"], p["team_slug"]))
        if members is None or p["username"] not in self.users:
            raise ApiError(404, "Not Found")
        state = "active" if p["username"] in self.org_members.get(p["org"], set()) else "pending"
        members[p["username"]] = state
        return 200, {"url": f"{self.base_url}/x", "role": b.get("role", "member"), "state": state}

    def op_repos_list_webhooks(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        return 200, [self._hook_json(repo, i) for i in sorted(repo.hooks)]

    def op_repos_create_webhook(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        if not b.get("config", {}).get("url"):
            raise ApiError(422, "Validation Failed")
        hook_id = next(self._ids)
        repo.hooks[hook_id] = {
            "config": dict(b["config"]),
            "events": b.get("events", ["push"]),
            "active": b.get("active", True),
        }
        return 201, self._hook_json(repo, hook_id)

    def op_repos_get_webhook(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        if int(p["hook_id"]) not in repo.hooks:
            raise ApiError(404, "Not Found")
        return 200, self._hook_json(repo, int(p["hook_id"]))

    def op_repos_update_webhook(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        hook = repo.hooks.get(int(p["hook_id"]))
        if hook is None:
            raise ApiError(404, "Not Found")
        if "config" in b:
            hook["config"] = dict(b["config"])
        if "events" in b:
            hook["events"] = list(b["events"])
        if "active" in b:
            hook["active"] = b["active"]
        return 200, self._hook_json(repo, int(p["hook_id"]))

    def op_repos_delete_webhook(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        if repo.hooks.pop(int(p["hook_id"]), None) is None:
            raise ApiError(404, "Not Found")
        return 204, None

    def _key_json(self, repo: Repo, key_id: int, template: str, method: str, status: str) -> Any:
        key = repo.keys[key_id]
        return self._shape(
            method,
            template,
            status,
            {
                "id": key_id,
                "key": key["key"],
                "title": key["title"],
                "read_only": key["read_only"],
                "url": f"{self.base_url}/repos/{repo.full_name}/keys/{key_id}",
                "verified": True,
                "created_at": "2026-11-29T00:00:00Z",
                "added_by": "kuploy",
                "last_used": None,
                "enabled": True,
            },
        )

    def op_repos_list_deploy_keys(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        template = "/repos/{owner}/{repo}/keys"
        return 200, [self._key_json(repo, i, template, "get", "200") for i in sorted(repo.keys)]

    def op_repos_create_deploy_key(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        # GitHub refuses a malformed key and a key already in use (anywhere on GitHub).
        parts = str(b.get("key", "")).split()
        if len(parts) < 2 or parts[0] not in ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"):
            raise ApiError(422, "Validation Failed")
        in_use = [k["key"].split()[:2] for r in self.repos.values() for k in r.keys.values()]
        if parts[:2] in in_use:
            raise ApiError(422, "Validation Failed")
        key_id = next(self._ids)
        repo.keys[key_id] = {
            "key": " ".join(parts[:2]),  # GitHub stores the key without its comment
            "title": b.get("title", ""),
            "read_only": bool(b.get("read_only", False)),
        }
        return 201, self._key_json(repo, key_id, "/repos/{owner}/{repo}/keys", "post", "201")

    def op_repos_delete_deploy_key(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        repo = self._get_repo(p)
        self._writable(repo)
        repo.keys.pop(int(p["key_id"]), None)  # GitHub answers 204 for a missing key too
        return 204, None

    def op_apps_get_org_installation(self, p: dict[str, str], q: Any, b: Any) -> tuple[int, Any]:
        assert self.app is not None
        if p["org"] not in self.org_members:
            raise ApiError(404, "Not Found")
        return 200, self._shape(
            "get",
            "/orgs/{org}/installation",
            "200",
            {
                "id": self.app[2],
                "app_id": self.app[0],
                "account": self._simple_user(p["org"], "Organization"),
                "access_tokens_url": (
                    f"{self.base_url}/app/installations/{self.app[2]}/access_tokens"
                ),
            },
        )

    def op_apps_create_installation_access_token(
        self, p: dict[str, str], q: Any, b: Any
    ) -> tuple[int, Any]:
        assert self.app is not None
        if int(p["installation_id"]) != self.app[2]:
            raise ApiError(404, "Not Found")
        token = f"ghs_fake{next(self._ids)}"
        self.tokens[token] = "kuploy-app[bot]"
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return 201, {
            "token": token,
            "expires_at": expires,
            "permissions": {},
            "repository_selection": "all",
        }


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
