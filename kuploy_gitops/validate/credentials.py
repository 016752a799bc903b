"""Credentials by their look: the issuers' token formats, private keys, URLs with a password.

:mod:`.secrets` reports them where a student put them (rule ``secret.plaintext``); :func:`mask`
keeps them out of every other finding's message, which CI logs print.
"""

from __future__ import annotations

import functools
import re

# (what it is, the pattern of its token). Prefixes are the issuers' documented ones.
_TOKENS = (
    ("a private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----"),
    ("an OpenAI API key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("a Stripe secret key", r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    ("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{22,})"),
    ("a Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}"),
)
# scheme://user:password@host: the password is group 1.
_URL_PASSWORD = r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:([^\s/@]+)@[^\s/@]+"
_PLACEHOLDER_WORDS = frozenset(
    {
        "changeme", "change-me", "change_me", "password", "passwd", "secret", "example",
        "placeholder", "redacted", "dummy", "test", "todo", "replaceme", "replace-me",
        "yourpassword", "your-password", "pass", "pw", "token", "none", "null",
    }
)  # fmt: skip


def placeholder(text: str, *, distinct: int = 3, run: int = 1) -> bool:
    """Whether ``text`` is obviously no real credential (empty, a variable, a template slot).

    Its longest run of letters and digits shorter than ``run`` (``sk-your-key-here``), or with
    fewer different characters than ``distinct`` (``xxxx``, ``0000``, ``abab``), is a
    placeholder too: a real key is a long random string.
    """
    t = text.strip().strip("'\"")
    if not t or t.startswith(("${", "$(", "{{", "<", "%")) or t.endswith((">", "}}")):
        return True
    if t.lower() in _PLACEHOLDER_WORDS or "example" in t.lower():
        return True
    longest = max(re.findall(r"[A-Za-z0-9]+", t), key=len, default="")
    return len(longest) < run or len(set(longest.lower())) < distinct


@functools.cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The token patterns, compiled when first needed (not at import: start-up time counts)."""
    return tuple((what, re.compile(p)) for what, p in _TOKENS)


def credential_kind(text: str) -> str | None:
    """What credential ``text`` holds (e.g. "an OpenAI API key"), or None."""
    for what, pattern in _patterns():
        for m in pattern.finditer(text):
            if what == "a private key" or not placeholder(m.group(0), distinct=6, run=10):
                return what
    for m in _url_password().finditer(text):
        if not placeholder(m.group(1)):
            return "a URL with a password"
    return None


# Words of an env variable's name that say its value is a credential (API_KEY, DB_PASSWORD,
# jwtSecret, GITHUB_TOKEN): such values are not shown by `app show`, whatever they look like.
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pass", "pwd", "secret", "token", "key", "apikey", "credential",
        "credentials", "private", "auth", "dsn", "salt", "signing",
    }
)  # fmt: skip


def secret_name(name: str) -> bool:
    """Whether an env variable's name says it holds a credential (``DB_PASSWORD``, ``apiKey``).

    The name is split at ``_``, ``-``, ``.`` and camel-case humps; one word from the list makes
    it secret, and so does a name containing ``password``, ``secret`` or ``token`` anywhere.
    """
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    if any(w in words for w in ("password", "secret", "token")):
        return True
    return any(w in _SECRET_WORDS for w in re.split(r"[-_.]+", words))


def mask(text: str) -> str:
    """``text`` with every credential-looking token and URL password replaced by ``***``.

    Unlike :func:`credential_kind` nothing is let through as a placeholder: a message shown in a
    CI log loses at most a look-alike, never a real key.
    """
    for _, pattern in _patterns():
        text = pattern.sub("***", text)
    return _url_password().sub(lambda m: m.group(0).replace(m.group(1), "***"), text)


@functools.cache
def _url_password() -> re.Pattern[str]:
    """The URL-password pattern, compiled when first needed (as :func:`_patterns`)."""
    return re.compile(_URL_PASSWORD)
