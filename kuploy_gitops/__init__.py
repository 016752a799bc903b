"""kuploy-gitops: the admin's tool for a student GitOps platform on a kubeadm cluster."""

# The one place the version is set: pyproject.toml reads it from here (hatch's version source),
# so `--version` needs no package-metadata lookup at start-up.
__version__ = "0.1.0"
