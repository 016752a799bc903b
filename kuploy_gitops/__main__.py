"""``python -m kuploy_gitops``: the same CLI as the ``kuploy-gitops`` script."""

from kuploy_gitops.cli import entry

if __name__ == "__main__":
    entry()
