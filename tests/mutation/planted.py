"""Plant each bug of issue 9 in turn, run the tests that pin it, check they fail, restore.

    python tests/mutation/planted.py            # every bug
    python tests/mutation/planted.py hostipc    # one

Each bug is a small plausible edit of the product code; the tests named with it must fail while
it is planted. The file is restored afterwards, even when interrupted. Exit 1 if a bug is not
caught. (docs/testing.md lists the same table.)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# name -> ([(file, text, planted text)], [tests that must fail])
BUGS: dict[str, tuple[list[tuple[str, str, str]], list[str]]] = {
    "student-len": (
        [
            (
                "kuploy_gitops/names.py",
                "if len(student) > MAX_STUDENT_LEN:",
                "if len(student) >= MAX_STUDENT_LEN:",
            )
        ],
        [
            "tests/test_names.py::test_student_name_of_exactly_max_len_is_accepted_one_more_is_refused"
        ],
    ),
    "init-max-per-container": (
        [
            (
                "kuploy_gitops/validate/quota.py",
                "init[key] = max(init.get(key, 0.0), v)",
                "init[key] = init.get(key, 0.0) + v",
            )
        ],
        [
            "tests/validate/test_quota.py::test_init_containers_count_by_their_largest_not_their_sum",
            "tests/validate/test_quota.py::test_init_containers_do_not_make_a_false_quota_exceeded",
        ],
    ),
    "init-max-against-containers": (
        [
            (
                "kuploy_gitops/validate/quota.py",
                "usage[key] = max(usage.get(key, 0.0), v)",
                "usage[key] = usage.get(key, 0.0) + v",
            )
        ],
        [
            "tests/validate/test_quota.py::test_init_containers_count_by_their_largest_not_their_sum",
            "tests/validate/test_quota.py::test_init_containers_do_not_make_a_false_quota_exceeded",
        ],
    ),
    "hostipc": (
        [
            (
                "kuploy_gitops/validate/pss.py",
                '("hostNetwork", "hostPID", "hostIPC")',
                '("hostNetwork", "hostPID")',
            )
        ],
        [
            "tests/validate/test_pss.py::test_every_host_namespace_is_refused",
            "tests/validate/test_pss.py::test_all_host_namespaces_together_are_three_issues",
        ],
    ),
    "push-attempts": (
        [
            (
                "kuploy_gitops/gitrepo.py",
                "if refused >= policy.refusals:",
                "if refused >= policy.refusals - 1:",
            )
        ],
        [
            "tests/test_gitrepo.py::test_push_retries_up_to_three_attempts",
            "tests/test_gitrepo.py::test_push_gives_up_after_its_attempts_and_keeps_the_commit",
        ],
    ),
    "stale-commit-after-rebase": (
        [
            (
                "kuploy_gitops/ops/writing.py",
                "result.commit = git.head() or result.commit",
                "pass",
            )
        ],
        [
            "tests/ops/test_writing.py::test_commit_is_the_pushed_one_after_a_rebase",
            "tests/ops/test_writing.py::test_cli_prints_the_sha_that_was_pushed",
        ],
    ),
    "roster-login-case": (
        [
            (
                "kuploy_gitops/roster.py",
                "if github and github.lower() in seen_logins:",
                "if github and github in seen_logins:",
            ),
            (
                "kuploy_gitops/roster.py",
                "seen_logins[github.lower()] = line",
                "seen_logins[github] = line",
            ),
        ],
        ["tests/test_roster.py::test_duplicate_github_logins_differ_only_in_case"],
    ),
    "failed-quota": (
        [
            (
                "kuploy_gitops/argocd/reasons.py",
                'if "exceeded quota" in text or "failed quota" in text:',
                'if "exceeded quota" in text:',
            )
        ],
        [
            "tests/argocd/test_argocd_reasons.py::test_classify",
            "tests/argocd/test_argocd_reasons.py::"
            "test_a_pod_without_the_limits_a_quota_requires_is_a_quota_reason",
        ],
    ),
    "backoff-constant": (
        [("kuploy_gitops/github/ratelimit.py", "return float(60 * 2**attempt)", "return 60.0")],
        [
            "tests/github/test_ratelimit.py::test_backoff_without_headers_doubles_from_one_minute",
            "tests/github/test_ratelimit.py::test_the_provider_backs_off_longer_each_time",
        ],
    ),
    "last-quota-wins": (
        [
            (
                "kuploy_gitops/validate/context.py",
                "if key not in ctx.quota or value < ctx.quota[key]:",
                "if True:",
            )
        ],
        [
            "tests/validate/test_context.py::test_several_quotas_the_smallest_wins_whatever_the_order"
        ],
    ),
}


def plant(name: str) -> bool:
    """Plant bug ``name``, run its tests; True when every one of them failed."""
    edits, tests = BUGS[name]
    saved: dict[Path, str] = {}
    try:
        for file, old, new in edits:
            path = ROOT / file
            saved.setdefault(path, path.read_text(encoding="utf-8"))
            text = path.read_text(encoding="utf-8")
            if text.count(old) != 1:
                sys.exit(f"{name}: {file} no longer has {old!r} once: update this script")
            path.write_text(text.replace(old, new), encoding="utf-8")
        caught = True
        for test in tests:
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", test],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            failed = proc.returncode == 1
            caught = caught and failed
            print(f"  {'fails' if failed else f'DOES NOT FAIL (exit {proc.returncode})'}: {test}")
        return caught
    finally:
        for path, text in saved.items():
            path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bugs", nargs="*", help=f"bugs to plant (default all): {', '.join(BUGS)}")
    names = parser.parse_args().bugs or list(BUGS)
    for name in names:
        if name not in BUGS:
            parser.error(f"no bug named {name!r}; use one of: {', '.join(BUGS)}")
    missed = []
    for name in names:
        print(name)
        if not plant(name):
            missed.append(name)
    print(f"{len(names) - len(missed)} of {len(names)} planted bugs caught")
    if missed:
        sys.exit(f"not caught: {', '.join(missed)}")


if __name__ == "__main__":
    main()
