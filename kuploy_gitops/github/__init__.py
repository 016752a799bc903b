"""GitHub: the provider protocol and its PyGithub implementation, the scaffold, the operations.

:mod:`.provider` is the narrow protocol the operations use; :mod:`.pygithub` implements it
(the only module importing PyGithub); :mod:`.ratelimit` bounds the waits; :mod:`.scaffold`
writes a student repo's files; :mod:`.ops` and :mod:`.teardown` are what the commands do.
"""
