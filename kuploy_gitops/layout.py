"""Every path and name of the platform GitOps tree, and the labels/annotations kuploy sets.

No other module spells a folder name, a label key or a derived object name: they ask here.
Paths are POSIX strings relative to the repo root (they are also git paths).

The tree::

    kuploy.yaml                          platform config
    tenants/<student>.yaml               tenant spec (source of truth; Argo CD does not read it)
    tenants/archive/<student>.yaml       specs kept by `offboard --archive`
    tenants/logins/<login>               the student a GitHub login is bound to (rendered from
                                         the specs; a login in a path makes "is it taken?" one
                                         file read, and two admins binding one login at once a
                                         git conflict instead of two tenants with one account)
    apps/root.yaml                       root Application, applied once by hand
    apps/cluster/platform/               what the root Application syncs (admin project):
      project.yaml                       the admin AppProject
      tenants-project.yaml               the AppProject of the tenant Applications
      tenants.yaml                       the ApplicationSet: one Application per tenant folder
      addon-<name>.yaml                  add-on Applications (Traefik, metrics-server, CNPG)
    apps/cluster/tenants/<student>/      what that tenant's Application syncs: guards, the
                                         student's AppProject and one Application per app
    apps/workloads/<student>/<app>/      platform-managed app manifests (a kustomization)

Three levels of Applications, so that none holds more than one tenant's objects, however many
tenants there are: the root owns the platform (a handful of objects); the ApplicationSet makes
one Application per tenant folder (``kuploy-tenant-<student>``, about ten objects); each of
those owns its student's Applications, which own the workloads. Workloads sit outside
``apps/cluster`` so no admin Application ever applies them: only the student's own Application
(in the student's locked AppProject) does.
"""

from __future__ import annotations

from kuploy_gitops.names import GITHUB_LOGIN

CONFIG_FILE = "kuploy.yaml"
TENANTS_DIR = "tenants"
ARCHIVE_DIR = "tenants/archive"
LOGINS_DIR = "tenants/logins"
LOGINS_README = "tenants/logins/README.md"
APPS_DIR = "apps"
ROOT_APP_FILE = "apps/root.yaml"
CLUSTER_DIR = "apps/cluster"
PLATFORM_DIR = "apps/cluster/platform"
TENANT_MANIFESTS_DIR = "apps/cluster/tenants"
WORKLOADS_DIR = "apps/workloads"
PLATFORM_README = "README.md"
PLATFORM_WORKFLOW = ".github/workflows/kuploy.yml"
EXPIRE_WORKFLOW = ".github/workflows/kuploy-expire.yml"  # daily `expire --push`

# Paths kuploy owns: a dirty working tree under these blocks a write.
OWNED_PATHS = (CONFIG_FILE, TENANTS_DIR, APPS_DIR)

ROOT_APP_NAME = "kuploy-root"
ADMIN_PROJECT = "kuploy-platform"
TENANTS_PROJECT = "kuploy-tenants"
TENANTS_APPSET = "kuploy-tenants"
TENANT_APP_PREFIX = "kuploy-tenant-"  # students cannot start with "kuploy-": no name clash
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"

# Labels and annotations.
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "kuploy-gitops"
LABEL_PART_OF = "app.kubernetes.io/part-of"
PART_OF = "kuploy"
LABEL_OWNER = "kuploy.io/owner"
LABEL_COURSE = "kuploy.io/course"
LABEL_TERM = "kuploy.io/term"
LABEL_EXPIRES = "kuploy.io/expires"
LABEL_SUSPENDED = "kuploy.io/suspended"
LABEL_TIER = "kuploy.io/tier"
LABEL_APP = "kuploy.io/app"
LABEL_MODE = "kuploy.io/mode"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
PSA_PREFIX = "pod-security.kubernetes.io"
ANNOTATION_SYNC_WAVE = "argocd.argoproj.io/sync-wave"
ANNOTATION_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
ANNOTATION_MANIFEST_PATHS = "argocd.argoproj.io/manifest-generate-paths"
ANNOTATION_SPEC_VERSION = "kuploy.io/spec-version"
# Argo CD's foreground-deletion finalizer, spelled with its path: the API server warns about a
# finalizer name without one ("prefer a domain-qualified finalizer name including a path"), and
# Argo CD treats both spellings alike (deleting the Application deletes what it deployed first).
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io/foreground"
NS_NAME_LABEL = "kubernetes.io/metadata.name"
# The only PriorityClass a tenant pod may name (low: platform pods win when nodes are full).
TENANT_PRIORITY_CLASS = "kuploy-tenant"
# The node pool label (cluster-bootstrap's node_pool_label): lab PCs carry kuploy.io/pool=lab
# and a NoSchedule taint of the same key; tenant namespaces place their pods there through the
# PodNodeSelector and PodTolerationRestriction admission plugins' annotations.
POOL_LABEL = "kuploy.io/pool"
# The class timetable (kuploy.yaml's timetable): a lab PC's room (cluster-bootstrap's lab_room),
# and the label the timetable's CronJobs put on the PCs they cordoned themselves, so that
# their uncordon never undoes a cordon an admin made by hand (a label, not an annotation:
# kubectl selects nodes by label). Their namespace, ServiceAccount and ClusterRole share a name.
ROOM_LABEL = "kuploy.io/room"
TIMETABLE_CORDONED_LABEL = "kuploy.io/timetable-cordoned"
TIMETABLE_NAME = "kuploy-timetable"
ANNOTATION_NODE_SELECTOR = "scheduler.alpha.kubernetes.io/node-selector"
ANNOTATION_DEFAULT_TOLERATIONS = "scheduler.alpha.kubernetes.io/defaultTolerations"
# Sync impersonation: Argo CD applies a student's apps as this ServiceAccount of the tenant,
# and the platform's own Applications as its application controller (cluster-wide rights).
DEPLOYER_SA = "kuploy-deployer"
CONTROLLER_SA = "argocd-application-controller"

# Sync waves of a tenant's Application: namespace first, then guards, then the project, then
# the student's Applications. Offboarding deletes the tenant's folder; the ApplicationSet then
# deletes the tenant's Application, whose finalizer deletes its objects in reverse wave order,
# each wave only once the one above is gone: the student's Applications (their own finalizers
# delete the workloads), then the AppProject, then the guards, then the Namespace.
WAVE_NAMESPACE = "-30"
WAVE_GUARDS = "-20"
WAVE_PROJECT = "-10"
WAVE_APPS = "0"

# Sync waves of the root Application: the projects before anything that uses them.
WAVE_PLATFORM_PROJECTS = "-100"
WAVE_ADMISSION = "-90"
WAVE_ADDONS = "-50"
# The add-ons' own objects (MetalLB's pool, cert-manager's issuers and certificates, the
# StorageClass): after the add-on Applications that install their CRDs. Until those CRDs
# exist the sync skips their dry run and its retries apply them once they do.
WAVE_ADDON_CONFIG = "-45"
WAVE_TENANTS_APPSET = "-40"
SKIP_DRY_RUN_ON_MISSING = "SkipDryRunOnMissingResource=true"

# Names of the bare-metal objects (kuploy_gitops.baremetal_manifests).
LB_POOL = "kuploy"  # MetalLB IPAddressPool and L2Advertisement
CLUSTER_ISSUER = "kuploy"  # the ClusterIssuer of the wildcard (or per-host) certificates
SELF_SIGNED_ISSUER = "kuploy-selfsigned"  # signs the generated CA only
CA_CERTIFICATE = "kuploy-ca"  # Certificate and Secret of the generated CA
ACME_ACCOUNT_SECRET = "kuploy-acme-account"
WILDCARD_CERTIFICATE = "kuploy-wildcard"
DNS01_SECRET_KEYS = {"cloudflare": "api-token", "rfc2136": "tsig-secret"}
# tls.issuer http01: an app's Ingress asks cert-manager (its ingress-shim) for a certificate of
# its host through this annotation, into the Secret APP_TLS_SUFFIX names in the tenant namespace;
# cert-manager labels the solver pods it runs in that namespace with ACME_SOLVER_LABEL.
ANNOTATION_CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"
CERT_MANAGER_ANNOTATION_PREFIX = "cert-manager.io/"
ACME_SOLVER_LABEL = "acme.cert-manager.io/http01-solver"
APP_TLS_SUFFIX = "-tls"


def app_tls_secret(app: str) -> str:
    """The Secret cert-manager writes an app's certificate to (tls.issuer http01)."""
    return f"{app}{APP_TLS_SUFFIX}"


def tenant_spec(student: str) -> str:
    """Path of a student's tenant spec."""
    return f"{TENANTS_DIR}/{student}.yaml"


def archived_spec(student: str) -> str:
    """Path where `offboard --archive` keeps a student's spec."""
    return f"{ARCHIVE_DIR}/{student}.yaml"


def login_marker(login: str) -> str:
    """Path of the file naming the tenant a GitHub login is bound to (logins ignore case).

    Raises:
        ValueError: ``login`` is not a GitHub login (specs are checked before they get here).
    """
    if not GITHUB_LOGIN.match(login):
        raise ValueError(f"not a GitHub login: {login!r}")
    return f"{LOGINS_DIR}/{login.lower()}"


def login_marker_text(student: str) -> str:
    """What a login's file holds: the student it is bound to."""
    return student + "\n"


def tenant_dir(student: str) -> str:
    """Folder of a student's rendered guards, AppProject and Applications."""
    return f"{TENANT_MANIFESTS_DIR}/{student}"


def tenant_file(student: str, name: str) -> str:
    """Path of one rendered file of a tenant (``name`` like ``namespace.yaml``)."""
    return f"{tenant_dir(student)}/{name}"


def application_file(student: str, app: str) -> str:
    """Path of the Application manifest of one app of a student."""
    return tenant_file(student, f"app-{app}.yaml")


def workload_dir(student: str, app: str | None = None) -> str:
    """Folder of a platform-managed app's manifests (or of all a student's apps)."""
    base = f"{WORKLOADS_DIR}/{student}"
    return base if app is None else f"{base}/{app}"


def platform_file(name: str) -> str:
    """Path of a platform-level manifest (admin project, add-on Applications)."""
    return f"{PLATFORM_DIR}/{name}.yaml"


def tenant_application_name(student: str) -> str:
    """The Application (made by the ApplicationSet) that owns one tenant's folder."""
    return f"{TENANT_APP_PREFIX}{student}"


def namespace_name(student: str) -> str:
    """The student's namespace: the student name itself (reserved names are refused)."""
    return student


def project_name(student: str) -> str:
    """The student's AppProject."""
    return student


def application_name(student: str, app: str) -> str:
    """The Application of one app: ``<student>-<app>`` (Applications share one namespace)."""
    return f"{student}-{app}"


def student_role_name() -> str:
    """Name of the AppProject role bound to the student's identity."""
    return "student"


def student_rbac_name() -> str:
    """Name of the namespaced Role and RoleBinding granted to the student."""
    return "kuploy-student"


def tenant_owned_paths(student: str) -> tuple[str, ...]:
    """The kuploy-owned paths a write for one student reads or changes."""
    return (
        CONFIG_FILE,
        tenant_spec(student),
        archived_spec(student),
        tenant_dir(student),
        workload_dir(student),
    )


def is_owned(path: str) -> bool:
    """Whether a repo-relative path is one kuploy writes."""
    return any(path == p or path.startswith(p + "/") for p in OWNED_PATHS)


# The student's own repository (student-repo mode), as `github setup` and `scaffold` write it.
STUDENT_DEPLOY_DIR = "deploy"
STUDENT_WORKFLOW_FILE = ".github/workflows/kuploy-deploy.yml"
# The branch of a student repo that its workflow deploys to and its Application tracks: one bot
# commit per deploy holding only the deploy folder with the image tag (never the student's branch).
STUDENT_DEPLOY_BRANCH = "kuploy-deploy"
STUDENT_GUIDE_FILE = "KUPLOY.md"
# What `--stack` adds at the top of the student's repo (templates/student-repo/stacks/<stack>/).
STUDENT_DOCKERFILE = "Dockerfile"
STUDENT_DOCKERIGNORE = ".dockerignore"
# The platform's public rules (kuploy.yaml without credentials settings, and the student's tier)
# that `kuploy-gitops validate --student` reads in the student's CI, where no secret is at hand.
STUDENT_RULES_DIR = ".kuploy"


# Sealed Secrets (docs/admin-guide.md, "Sealed Secrets"). The controller's public certificate,
# fetched once by the admin after bootstrap (kubeseal --fetch-cert) and committed: `secret set`
# seals with it offline. Public by design (it only encrypts); the private key never leaves the
# cluster. The controller's name and namespace are kubeseal's defaults, so students' and admins'
# kubeseal commands need no --controller-name.
SEALED_SECRETS_CERT = "platform/sealed-secrets/cert.pem"
SEALED_SECRETS_CONTROLLER = "sealed-secrets-controller"
SEALED_SECRETS_ADDON = "sealed-secrets"  # the add-on's chart (kuploy.yaml's addons)
SEALED_SECRET_FILE = "sealedsecret.yaml"  # in a managed app's workload folder


# The certificate's copy in a student's repo (with the public rules): students seal with it.
STUDENT_SEALING_CERT = ".kuploy/sealed-secrets.pem"


def app_secret_name(app: str) -> str:
    """The SealedSecret (and the Secret the controller makes from it) of a managed app."""
    return f"{app}-secrets"
