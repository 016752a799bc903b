"""Argo CD: the REST client, its data, the reasons an app is unhealthy, and the operations.

:mod:`.client` talks to the API over httpx; :mod:`.model` holds its data; :mod:`.reasons`
finds the first concrete reason for anything unhealthy; :mod:`.ops` and :mod:`.offboarding`
are what the commands do.
"""
