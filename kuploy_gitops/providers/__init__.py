"""Git hosting providers behind the narrow :class:`GitProvider` protocol."""

from kuploy_gitops.providers.base import GitProvider, HookInfo, RepoInfo

__all__ = ["GitProvider", "HookInfo", "RepoInfo"]
