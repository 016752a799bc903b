"""Validation of the platform repo: schemas, admission emulation, kustomize builds, reports.

The entry points are in :mod:`.engine` (``validate_repo``, ``validate_student``,
``validate_files``); this package file imports nothing, so importing one part of the validator
(the rule table, say) does not load the rest.
"""
