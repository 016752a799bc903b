"""The operations behind the platform-repo commands, one module per family.

Each writing operation follows one flow (:mod:`.writing`): recover any interrupted apply, lock
the repo, check that kuploy's files are clean, build a :class:`~kuploy_gitops.plan.FilePlan` in
memory for the touched tenant(s) only, validate it, then (unless ``dry_run``) apply it
atomically, commit and optionally push. Nothing here prints: operations return results and
raise :class:`~kuploy_gitops.errors.KuployError`; progress is reported through a callback.
"""
