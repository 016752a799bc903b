"""Rules of Pod Security Standards: baseline and restricted, as the API server admits pods.

Registered in the catalogue of :mod:`.findings`, which re-exports these names.
"""

from __future__ import annotations

from kuploy_gitops.validate.finding_types import ERROR
from kuploy_gitops.validate.finding_types import rule as _rule

# -- Pod Security Standards: baseline ----------------------------------------------------------
PSS_HOST_PROCESS = _rule(
    "pss.host-process",
    ERROR,
    "windowsOptions.hostProcess is true.",
    "Pod Security baseline forbids Windows host processes.",
    "Remove hostProcess.",
)
PSS_HOST_NAMESPACES = _rule(
    "pss.host-namespaces",
    ERROR,
    "hostNetwork, hostPID or hostIPC is true.",
    "Pod Security baseline: sharing the node's namespaces breaks tenant isolation.",
    "Remove hostNetwork/hostPID/hostIPC; expose ports through a Service instead.",
)
PSS_PRIVILEGED = _rule(
    "pss.privileged",
    ERROR,
    "A container sets securityContext.privileged: true.",
    "Pod Security baseline: a privileged container is root on the node.",
    "Remove privileged: true.",
)
PSS_CAPABILITIES_BASELINE = _rule(
    "pss.capabilities-baseline",
    ERROR,
    "capabilities.add names a capability outside the default set (e.g. NET_ADMIN, SYS_ADMIN).",
    "Pod Security baseline allows only the container runtime's default capabilities.",
    "Drop the capability from capabilities.add.",
)
PSS_HOST_PATH = _rule(
    "pss.host-path",
    ERROR,
    "A hostPath volume.",
    "Pod Security baseline: hostPath gives access to the node's file system.",
    "Use an emptyDir, a ConfigMap/Secret volume or a PersistentVolumeClaim.",
)
PSS_HOST_PORTS = _rule(
    "pss.host-ports",
    ERROR,
    "A container port sets hostPort.",
    "Pod Security baseline forbids binding ports on the node.",
    "Remove hostPort; publish the port with a Service and an Ingress.",
)
PSS_APPARMOR = _rule(
    "pss.apparmor",
    ERROR,
    "An AppArmor profile other than RuntimeDefault/Localhost.",
    "Pod Security baseline forbids disabling AppArmor (Unconfined).",
    "Remove the AppArmor setting or use RuntimeDefault.",
)
PSS_SELINUX = _rule(
    "pss.selinux",
    ERROR,
    "Custom SELinux user/role or a type outside the container types.",
    "Pod Security baseline forbids custom SELinux options.",
    "Remove seLinuxOptions.",
)
PSS_PROC_MOUNT = _rule(
    "pss.proc-mount",
    ERROR,
    "procMount is not Default.",
    "Pod Security baseline requires the default masked /proc.",
    "Remove procMount.",
)
PSS_PROBE_HOST = _rule(
    "pss.probe-host",
    ERROR,
    "A probe or lifecycle handler (httpGet or tcpSocket) sets host.",
    "Pod Security baseline (since 1.34) forbids it: the kubelet would connect to any address.",
    "Remove host: the kubelet then checks the pod's own IP.",
)
PSS_SECCOMP_BASELINE = _rule(
    "pss.seccomp-baseline",
    ERROR,
    "seccompProfile.type is Unconfined.",
    "Pod Security baseline forbids turning seccomp off.",
    "Use seccompProfile: {type: RuntimeDefault}.",
)
PSS_SYSCTLS = _rule(
    "pss.sysctls",
    ERROR,
    "A sysctl outside the safe set.",
    "Pod Security baseline allows only namespaced, safe sysctls.",
    "Remove the sysctl.",
)
# -- Pod Security Standards: restricted --------------------------------------------------------
PSS_VOLUME_TYPES = _rule(
    "pss.volume-types",
    ERROR,
    "A volume type outside configMap, csi, downwardAPI, emptyDir, ephemeral, image, "
    "persistentVolumeClaim, projected, secret.",
    "Pod Security restricted allows only these volume types.",
    "Use one of the allowed volume types (a PVC for storage).",
)
PSS_PROC_MOUNT_RESTRICTED = _rule(
    "pss.proc-mount-restricted",
    ERROR,
    "procMount is not Default in a pod with hostUsers: false.",
    "Pod Security baseline allows it in a user namespace (since 1.35); restricted does not.",
    "Remove procMount.",
)
PSS_PRIV_ESCALATION = _rule(
    "pss.allow-privilege-escalation",
    ERROR,
    "A container does not set securityContext.allowPrivilegeEscalation: false.",
    "Pod Security restricted requires it on every container.",
    "Set securityContext.allowPrivilegeEscalation: false on every container.",
)
PSS_RUN_AS_NON_ROOT = _rule(
    "pss.run-as-non-root",
    ERROR,
    "runAsNonRoot is not true (at pod level or on every container).",
    "Pod Security restricted requires containers to run as non-root.",
    "Set spec.securityContext.runAsNonRoot: true and use an image with a non-root USER.",
)
PSS_RUN_AS_USER = _rule(
    "pss.run-as-user",
    ERROR,
    "runAsUser is 0 (root).",
    "Pod Security restricted forbids running as UID 0.",
    "Use a non-zero runAsUser.",
)
PSS_SECCOMP_RESTRICTED = _rule(
    "pss.seccomp-restricted",
    ERROR,
    "No seccompProfile RuntimeDefault/Localhost (at pod level or on every container).",
    "Pod Security restricted requires a seccomp profile.",
    "Set spec.securityContext.seccompProfile: {type: RuntimeDefault}.",
)
PSS_CAPABILITIES_RESTRICTED = _rule(
    "pss.capabilities-restricted",
    ERROR,
    "capabilities.drop lacks ALL, or add has anything but NET_BIND_SERVICE.",
    "Pod Security restricted requires dropping all capabilities.",
    "Set securityContext.capabilities: {drop: [ALL]} on every container.",
)
