"""Template tests: render the kubeadm, join, Calico, Argo CD, apt and containerd templates with
Ansible's own templating (real group_vars and role defaults) and check the parsed output."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from bootstrap_helpers import (
    BOOTSTRAP,
    REPO_ROOT,
    ROLES,
    bootstrap_custom_resources,
    group_vars,
    load_filter_plugin,
    render,
)
from helpers import DATA_DIR
from test_manifests_valid import CRD_KINDS, argo_validator

GROUP_VARS = group_vars()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("render")
    home = base / "home"
    (home / "tmp").mkdir(parents=True)
    return render(base, home)


def docs(path: Path) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(path.read_text()) if doc}


def test_kubeadm_config_has_init_cluster_and_kubelet_configuration(rendered: Path) -> None:
    kinds = docs(rendered / "cp1/kubeadm-config.yaml")
    assert set(kinds) == {"InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"}
    init, cluster, kubelet = (
        kinds["InitConfiguration"], kinds["ClusterConfiguration"], kinds["KubeletConfiguration"]
    )  # fmt: skip
    assert init["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert init["localAPIEndpoint"] == {"advertiseAddress": "10.20.0.10", "bindPort": 6443}
    registration = init["nodeRegistration"]
    assert registration["name"] == "cp1"
    assert registration["criSocket"] == "unix:///run/containerd/containerd.sock"
    assert registration["kubeletExtraArgs"] == [{"name": "node-ip", "value": "10.20.0.10"}]
    # The control-plane taint stays unless control_plane_allow_workloads is set.
    assert registration["taints"] == [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    ]
    assert cluster["kubernetesVersion"] == "v" + GROUP_VARS["kube_version"]
    # A DNS name (each node's /etc/hosts points it at the control plane): a restored control
    # plane on another machine takes the name over.
    assert cluster["controlPlaneEndpoint"] == "api.kuploy.internal:6443"
    assert cluster["networking"] == {
        "podSubnet": GROUP_VARS["pod_cidr"],
        "serviceSubnet": GROUP_VARS["service_cidr"],
        "dnsDomain": "cluster.local",
    }
    args = {a["name"]: a["value"] for a in cluster["apiServer"]["extraArgs"]}
    assert args == {
        "default-not-ready-toleration-seconds": "60",
        "default-unreachable-toleration-seconds": "60",
        # kubeadm's default (NodeRestriction) kept, with the tenant boundary's plugins.
        "enable-admission-plugins": (
            "NodeRestriction,DenyServiceExternalIPs,PodNodeSelector,PodTolerationRestriction"
        ),
    }
    assert cluster["apiServer"]["certSANs"] == ["api.kuploy.internal", "10.20.0.10", "cp1"]
    assert kubelet["cgroupDriver"] == "systemd"
    assert kubelet["failSwapOn"] is True
    assert kubelet["seccompDefault"] is True  # RuntimeDefault for every container
    assert kubelet["shutdownGracePeriod"] == "60s"
    assert kubelet["shutdownGracePeriodCriticalPods"] == "20s"


DEX_ORG = "konkuk-kuploy"
DEX_CLIENT_ID = "Ov23liExampleClient1"
ARGOCD_DOMAIN = "argocd.lab.example.edu"


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second cluster with the options that are off by default: workloads on the control
    plane, and the students' GitHub login to Argo CD (Dex)."""
    base = tmp_path_factory.mktemp("variant")
    home = base / "home"
    (home / "tmp").mkdir(parents=True)
    return render(
        base, home,
        "-e", "control_plane_allow_workloads=true",
        "-e", f"addons_argocd_dex_github_org={DEX_ORG}",
        "-e", f"addons_argocd_dex_github_client_id={DEX_CLIENT_ID}",
        "-e", f"addons_argocd_domain={ARGOCD_DOMAIN}",
    )  # fmt: skip


def test_control_plane_taint_removed_only_when_configured(variant: Path) -> None:
    out = variant
    init = docs(out / "cp1/kubeadm-config.yaml")["InitConfiguration"]
    assert init["nodeRegistration"]["taints"] == []
    rules = json.loads((out / "cp1/ufw-rules.json").read_text())
    assert "allow 30000:32767/tcp" in rules  # it runs workloads, so NodePorts open too


def test_join_config_taints_lab_pcs_only(rendered: Path) -> None:
    lab = docs(rendered / "lab1/kubeadm-join.yaml")["JoinConfiguration"]
    core = docs(rendered / "core1/kubeadm-join.yaml")["JoinConfiguration"]
    assert lab["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    discovery = lab["discovery"]["bootstrapToken"]
    assert discovery["apiServerEndpoint"] == "api.kuploy.internal:6443"
    assert discovery["token"] == "abcdef.0123456789abcdef"
    assert discovery["caCertHashes"] == ["sha256:" + "1" * 64]
    assert lab["nodeRegistration"]["name"] == "lab1"
    assert lab["nodeRegistration"]["kubeletExtraArgs"] == [
        {"name": "node-ip", "value": "10.20.0.101"}
    ]
    assert lab["nodeRegistration"]["taints"] == [
        {"key": "kuploy.io/pool", "value": "lab", "effect": "NoSchedule"}
    ]
    assert core["nodeRegistration"]["taints"] == []
    assert not (rendered / "cp1/kubeadm-join.yaml").exists()


def test_calico_installation_uses_the_configured_pod_cidr(rendered: Path) -> None:
    kinds = docs(rendered / "cp1/calico-installation.yaml")
    assert set(kinds) == {"Installation", "APIServer"}
    installation = kinds["Installation"]
    assert installation["apiVersion"] == "operator.tigera.io/v1"
    assert installation["metadata"]["name"] == "default"
    network = installation["spec"]["calicoNetwork"]
    (pool,) = network["ipPools"]
    assert pool["cidr"] == GROUP_VARS["pod_cidr"] != "192.168.0.0/16"
    assert pool["encapsulation"] == "VXLANCrossSubnet"
    assert pool["natOutgoing"] == "Enabled"
    assert pool["blockSize"] == 26
    assert network["nodeAddressAutodetectionV4"] == {"kubernetes": "NodeInternalIP"}


def test_argocd_values_and_root_application(rendered: Path) -> None:
    values = yaml.safe_load((rendered / "cp1/argocd-values.yaml").read_text())
    assert values["global"]["nodeSelector"] == {"kuploy.io/pool": "core"}
    assert values["configs"]["params"]["server.insecure"] is True
    assert values["configs"]["cm"]["exec.enabled"] is False
    # Sync impersonation: tenant apps are applied as their tenant's kuploy-deployer. A string,
    # as argocd-cm holds strings only.
    assert values["configs"]["cm"]["application.sync.impersonation.enabled"] == "true"
    # No org and client ID: no Dex, no connector, no callback URL.
    assert values["dex"]["enabled"] is False
    assert "dex.config" not in values["configs"]["cm"] and "url" not in values["configs"]["cm"]
    assert values["redis-ha"]["enabled"] is False
    assert values["crds"] == {"install": True, "keep": True}
    app = yaml.safe_load((rendered / "cp1/root-application.yaml").read_text())
    assert app["kind"] == "Application"
    assert app["metadata"] == {
        "name": "kuploy-root",
        "namespace": "argocd",
        "labels": {
            "app.kubernetes.io/managed-by": "kuploy-gitops",
            "app.kubernetes.io/part-of": "kuploy",
        },
    }
    assert app["spec"]["source"] == {
        "repoURL": "https://git.example.test/konkuk/platform.git",
        "targetRevision": "main",
        "path": "apps/cluster/platform",
    }
    assert app["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert app["spec"]["syncPolicy"]["retry"]["limit"] > 0  # CRs wait for their add-ons' CRDs
    # Sync impersonation is on, so the root's project names the ServiceAccount it syncs as (in
    # Argo CD's `default` project the sync would fail: no ServiceAccount to impersonate). It is
    # the platform project kuploy-gitops renders, which the root's first sync takes over.
    project = yaml.safe_load((rendered / "cp1/root-project.yaml").read_text())
    assert app["spec"]["project"] == project["metadata"]["name"] == "kuploy-platform"
    assert project["spec"]["sourceRepos"] == [app["spec"]["source"]["repoURL"]]
    assert project["spec"]["destinationServiceAccounts"] == [
        {
            "server": "https://kubernetes.default.svc",
            "namespace": "*",
            "defaultServiceAccount": "argocd:argocd-application-controller",
        }
    ]


def test_custom_resources_match_their_vendored_crds(rendered: Path) -> None:
    # The CRD schemas of tests/data (Calico's operator CRDs of calico_version, Argo CD's), made
    # strict: a field the operator does not know is an error, as the API server would prune it.
    objects = bootstrap_custom_resources(rendered)
    assert sorted(o["kind"] for o in objects) == [
        "APIServer",
        "AppProject",
        "Application",
        "Installation",
    ]
    for obj in objects:
        assert obj["apiVersion"].endswith("/" + CRD_KINDS[obj["kind"]][2])
        errors = sorted(argo_validator(DATA_DIR, obj["kind"]).iter_errors(obj), key=str)
        assert not errors, f"{obj['kind']}: {errors[0].message} at {list(errors[0].path)}"
    # ... and the check bites: a misspelt field of the Installation is refused.
    (installation,) = [o for o in objects if o["kind"] == "Installation"]
    broken = {**installation, "spec": {**installation["spec"], "calicoNetwrok": {}}}
    assert list(argo_validator(DATA_DIR, "Installation").iter_errors(broken))


def test_kubernetes_apt_repository_is_per_minor_and_pinned(rendered: Path) -> None:
    minor = ".".join(GROUP_VARS["kube_version"].split(".")[:2])
    fields = dict(
        line.split(": ", 1)
        for line in (rendered / "cp1/kubernetes.sources").read_text().splitlines()
        if ": " in line and not line.startswith("#")
    )
    assert fields == {
        "Types": "deb",
        "URIs": f"https://pkgs.k8s.io/core:/stable:/v{minor}/deb/",
        "Suites": "/",
        "Signed-By": f"/etc/apt/keyrings/kubernetes-v{minor}.asc",
    }
    pref = (rendered / "cp1/kubernetes.pref").read_text()
    assert "Package: kubelet kubeadm kubectl" in pref
    assert f"Pin: version {GROUP_VARS['kube_version']}-*" in pref
    assert "Pin-Priority: 1000" in pref
    assert "apt.kubernetes.io" not in pref + str(fields)


def test_argocd_network_policies_are_on(rendered: Path) -> None:
    """The argo-cd chart renders its per-component policies and a default deny of ingress.

    (The chart's templates admit everything to argocd-server, only the Argo CD components to
    the repo-server and Redis: see docs/admin-guide.md, "Network".)
    """
    values = yaml.safe_load((rendered / "cp1/argocd-values.yaml").read_text())
    assert values["global"]["networkPolicy"] == {"create": True, "defaultDenyIngress": True}
    # The server must stay reachable from the ingress controller: no values narrow it.
    assert "networkPolicy" not in values.get("server", {})


def test_containerd_template_matches_its_layout(rendered: Path) -> None:
    text = (rendered / "cp1/containerd-v2.toml").read_text()
    parsed = tomllib.loads(text)
    assert parsed["version"] == 3
    layouts = json.loads((rendered / "cp1/containerd-layouts.json").read_text())
    assert set(layouts) == {"2"}  # release archives only: no 1.x layout left
    layout = layouts["2"]
    assert layout["template"] == "config-v2.toml.j2"
    # The sections the role asserts on after `containerd config dump` exist in this template.
    sections = load_filter_plugin("containerd", "kuploy_toml").kuploy_toml_sections(text)
    assert sections[layout["options_section"]]["SystemdCgroup"] is True
    assert sections[layout["options_section"]]["BinaryName"] == "/usr/local/sbin/runc"
    assert sections[layout["runc_section"]]["runtime_type"] == "io.containerd.runc.v2"
    sandbox = sections[layout["sandbox_section"]][layout["sandbox_key"]]
    assert sandbox == GROUP_VARS["containerd_sandbox_image"]
    runtime = parsed["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    images = parsed["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == GROUP_VARS["containerd_sandbox_image"]
    assert "io.containerd.grpc.v1.cri" not in parsed["plugins"]


def test_containerd_unit_runs_the_release_binary(rendered: Path) -> None:
    unit: dict[str, dict[str, str]] = {}
    section = ""
    for line in (rendered / "lab1/containerd.service").read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            unit.setdefault(section, {})[key] = value
    service = unit["Service"]
    assert service["ExecStart"] == "/usr/local/bin/containerd --config /etc/containerd/config.toml"
    assert service["Type"] == "notify"
    assert service["Delegate"] == "yes"
    assert service["KillMode"] == "process"  # a restart leaves the running containers alone
    assert service["OOMScoreAdjust"] == "-999"
    assert unit["Install"] == {"WantedBy": "multi-user.target"}


def test_runtime_downloads_are_the_upstream_release_paths(rendered: Path) -> None:
    defaults = {
        role: yaml.safe_load((ROLES / role / "defaults/main.yml").read_text())
        for role in ("containerd", "cni_plugins")
    }
    containerd = defaults["containerd"]["containerd_version"]
    runc = defaults["containerd"]["containerd_runc_version"]
    cni = defaults["cni_plugins"]["cni_plugins_version"]
    assert containerd.startswith("2."), "containerd 2.x (Kubernetes 1.36 needs 2.2+)"
    urls = json.loads((rendered / "cp1/downloads.json").read_text())
    base = GROUP_VARS["runtime_download_base"]
    assert urls == {
        "containerd": f"{base}/containerd/containerd/releases/download/v{containerd}/"
        f"containerd-{containerd}-linux-amd64.tar.gz",
        "runc": f"{base}/opencontainers/runc/releases/download/v{runc}/runc.amd64",
        "cni": f"{base}/containernetworking/plugins/releases/download/v{cni}/"
        f"cni-plugins-linux-amd64-v{cni}.tgz",
    }
    pins = {
        "containerd": defaults["containerd"]["containerd_archive_checksums"][containerd],
        "runc": defaults["containerd"]["containerd_runc_checksums"][runc],
        "cni": defaults["cni_plugins"]["cni_plugins_checksums"][cni],
        "helm": GROUP_VARS["helm_checksums"][GROUP_VARS["helm_version"]],
    }
    for name, per_arch in pins.items():
        assert set(per_arch) == {"amd64", "arm64"}, name
        for value in per_arch.values():
            assert value.startswith("sha256:") and len(value) == 7 + 64, (name, value)
            int(value[7:], 16)
        assert per_arch["amd64"] != per_arch["arm64"], name


def test_kubelet_serving_certificates_are_bootstrapped(rendered: Path) -> None:
    kubelet = docs(rendered / "cp1/kubeadm-config.yaml")["KubeletConfiguration"]
    assert kubelet["serverTLSBootstrap"] is True
    assert kubelet["rotateCertificates"] is True


def test_csr_approver_allows_only_the_inventory(rendered: Path) -> None:
    values = yaml.safe_load((rendered / "cp1/kubelet-csr-approver-values.yaml").read_text())
    regex = re.compile(values["providerRegex"])
    for name in ("cp1", "core1", "lab1"):
        assert regex.fullmatch(name), name
    for name in ("lab", "lab10", "lab1.evil.example", "kubernetes", "cp1x", "xcp1"):
        assert not regex.search(name), name
    assert values["providerIpPrefixes"] == ["10.20.0.10/32", "10.20.0.11/32", "10.20.0.101/32"]
    assert values["bypassDnsResolution"] is True  # the name is checked by the regex instead
    assert values["allowedDnsNames"] == 1
    assert values["bypassHostnameCheck"] is False
    assert values["ignoreNonSystemNode"] is False
    assert values["nodeSelector"] == {"kuploy.io/pool": "core"}


def test_metrics_server_verifies_the_kubelet_certificates() -> None:
    """The platform's metrics-server add-on trusts the cluster CA: no insecure kubelet TLS."""
    data = yaml.safe_load((REPO_ROOT / "kuploy_gitops/data/kuploy.yaml").read_text())
    example = yaml.safe_load((REPO_ROOT / "kuploy.yaml").read_text())
    for config in (data, example):
        addon = config["addons"]["metrics-server"]
        assert "insecure" not in json.dumps(addon)
    rendered_app = (REPO_ROOT / "apps/cluster/platform/addon-metrics-server.yaml").read_text()
    assert "insecure" not in rendered_app


def test_firewall_ports_follow_the_node_role(rendered: Path) -> None:
    cp = json.loads((rendered / "cp1/ufw-rules.json").read_text())
    lab = json.loads((rendered / "lab1/ufw-rules.json").read_text())
    calico = ["allow 179/tcp", "allow 4789/udp", "allow 5473/tcp"]
    for port in ["6443/tcp", "2379:2380/tcp", "10250/tcp", "10257/tcp", "10259/tcp"]:
        assert f"allow {port}" in cp
    assert "allow 30000:32767/tcp" not in cp
    assert set(calico) <= set(cp) and set(calico) <= set(lab)
    assert "allow 10250/tcp" in lab and "allow 30000:32767/tcp" in lab
    assert "allow 6443/tcp" not in lab and "allow 2379:2380/tcp" not in lab
    assert f"allow from {GROUP_VARS['pod_cidr']}" in lab
    core = json.loads((rendered / "core1/ufw-rules.json").read_text())
    metallb = ["allow 7946/tcp", "allow 7946/udp"]  # speakers on pool core only
    assert set(metallb) <= set(core)
    assert not set(metallb) & set(lab) and not set(metallb) & set(cp)


def test_logind_dropin_outlasts_the_kubelet_grace_period_and_unattended_upgrades(
    rendered: Path,
) -> None:
    grace = int(GROUP_VARS["kubelet_shutdown_grace_period"].removesuffix("s"))
    dropin = yaml.safe_load((BOOTSTRAP / "roles/node_power/defaults/main.yml").read_text())[
        "node_power_logind_dropin"
    ]
    assert dropin.startswith("/etc/systemd/logind.conf.d/")
    # logind merges /usr/lib and /etc drop-ins by file name and the last one wins: ours must
    # come after unattended-upgrades' 30 s cap and the kubelet's own 99-kubelet.conf.
    name = Path(dropin).name
    assert sorted([name, "unattended-upgrades-logind-maxdelay.conf", "99-kubelet.conf"])[-1] == name
    for host in ("cp1", "core1", "lab1"):
        lines = (rendered / host / "logind-graceful-shutdown.conf").read_text().splitlines()
        assert "[Login]" in lines
        login = dict(line.split("=", 1) for line in lines if "=" in line and line[0] != "#")
        assert int(login["InhibitDelayMaxSec"]) > grace >= 60
        assert login["HandleSuspendKey"] == login["HandleLidSwitch"] == "ignore"
        assert login["IdleAction"] == "ignore"


def test_no_template_mentions_the_retired_repository_or_the_calico_default_pool() -> None:
    for path in BOOTSTRAP.rglob("*"):
        if path.is_file() and path.suffix in {".yml", ".j2", ".cfg"}:
            text = path.read_text()
            assert "apt.kubernetes.io" not in text or "retired" in text, path
            assert "192.168.0.0/16" not in text or "trap" in text or "never" in text, path


def test_argocd_dex_github_login_for_the_org(variant: Path) -> None:
    """With an org and client ID, Dex's GitHub connector admits that org's members only; the
    client secret is a reference to a Secret, never a value in the values file."""
    text = (variant / "cp1/argocd-values.yaml").read_text()
    values = yaml.safe_load(text)
    assert values["dex"]["enabled"] is True
    cm = values["configs"]["cm"]
    assert cm["url"] == f"https://{ARGOCD_DOMAIN}"
    dex = yaml.safe_load(cm["dex.config"])
    (connector,) = dex["connectors"]
    assert (connector["type"], connector["id"]) == ("github", "github")
    assert connector["config"] == {
        "clientID": DEX_CLIENT_ID,
        "clientSecret": "$argocd-dex-github:clientSecret",
        "orgs": [{"name": DEX_ORG}],
    }
    # The rest of the values are as without Dex.
    assert cm["application.sync.impersonation.enabled"] == "true"
    assert values["configs"]["rbac"]["policy.default"] == ""


def _argocd_groups(claims: dict[str, Any], scopes: list[str]) -> list[str]:
    """Argo CD's jwtutil.GetScopeValues: the values of the listed claims, strings or lists."""
    out: list[str] = []
    for scope in scopes:
        value = claims.get(scope)
        out += [value] if isinstance(value, str) else list(value or [])
    return out


def test_rbac_scopes_make_the_rendered_project_role_the_students(rendered: Path) -> None:
    """The tenant's AppProject role (groups: [GitHub login], rendered by kuploy-gitops) matches
    the ID token Dex's GitHub connector gives that student, under the bootstrap's scopes, and
    no one else's: not another student's, nor one whose display name or email is that login.

    Argo CD matches a project role's groups exactly against the values of the claims `scopes`
    lists (server/rbacpolicy EnforceClaims); Dex's GitHub connector puts the login in
    preferred_username, the teams of the org in groups (`org:team`), the display name in name.
    """
    values = yaml.safe_load((rendered / "cp1/argocd-values.yaml").read_text())
    scopes = yaml.safe_load(values["configs"]["rbac"]["scopes"])  # Argo CD reads it as YAML
    assert scopes == ["groups", "preferred_username"]
    spec = yaml.safe_load((REPO_ROOT / "tenants/kim-minji.yaml").read_text())
    project = yaml.safe_load(
        (REPO_ROOT / "apps/cluster/tenants/kim-minji/appproject.yaml").read_text()
    )
    (role,) = project["spec"]["roles"]
    assert role["groups"] == [spec["github"]]

    def token(login: str, name: str = "Someone", email: str = "x@example.test") -> dict[str, Any]:
        return {
            "sub": "CiQ0Mjk0OTY3Mjk1EgZnaXRodWI",  # opaque (the user id), never the login
            "preferred_username": login,
            "name": name,
            "email": email,
            "groups": ["konkuk-kuploy:cs101-2026"],
        }

    def matches(claims: dict[str, Any]) -> bool:
        return any(g in role["groups"] for g in _argocd_groups(claims, scopes))

    assert matches(token(spec["github"]))
    assert not matches(token("junlee-dev"))
    assert not matches(token("mallory", name=spec["github"], email=spec["github"]))
    # Without preferred_username in the scopes (Argo CD's default, [groups]) nothing matches.
    assert not any(g in role["groups"] for g in _argocd_groups(token(spec["github"]), ["groups"]))
