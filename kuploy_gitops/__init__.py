"""kuploy-gitops: the admin's tool for a student GitOps platform on a kubeadm cluster."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kuploy-gitops")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+checkout"
