"""Approval tokens: a signed-in reviewer's identity, carried to the command line.

Where sign-in is configured, an approval must carry the identity the sign-in
provider vouched for, and a typed ``--reviewer NAME`` does not.  So the Review page
issues a signed-in reviewer a short-lived token (their name, e-mail and the
provider's subject, and an expiry, signed with HMAC-SHA-256 under a key derived
from the deployment's ``[auth] cookie_secret``), and ``python -m engine approve
--token`` checks it with the same secrets: a token that was altered, expired, or
signed by another deployment is refused with one sentence.  Whoever holds the
secrets file can mint tokens, as they can already forge sign-in cookies; the token
adds nothing an administrator could not do, and lets a script approve only as the
person who signed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import tomllib
from pathlib import Path
from typing import Any, Mapping

from engine import auth
from engine.deid.signoff import Reviewer, cli_reviewer
from engine.errors import InputError

SECRETS_ENV = "CLINLAB_SECRETS"
LIFETIME_S = 12 * 3600  # a working day
_CONTEXT = b"clinlab approval token v1"


def _key(auth_section: Mapping[str, Any]) -> bytes:
    secret = str(auth_section.get("cookie_secret") or "")
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(reviewer: Reviewer, auth_section: Mapping[str, Any], now: float | None = None) -> str:
    """A token for a signed-in ``reviewer`` (the Review page's identity)."""
    if reviewer.source != "sign-in":
        raise InputError("Only a signed-in reviewer can be given a token for the command line.")
    body = {"name": reviewer.name, "email": reviewer.email, "sub": reviewer.subject,
            "exp": int((time.time() if now is None else now) + LIFETIME_S)}
    payload = _b64(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return f"{payload}.{_b64(hmac.new(_key(auth_section), payload.encode(), hashlib.sha256).digest())}"


def verify(token: str, auth_section: Mapping[str, Any], now: float | None = None) -> Reviewer:
    """The reviewer a token names, or :class:`InputError` with one sentence."""
    payload, _, sig = token.strip().partition(".")
    try:
        good = hmac.compare_digest(_unb64(sig), hmac.new(_key(auth_section), payload.encode(), hashlib.sha256).digest())
        body = json.loads(_unb64(payload)) if good else None
    except (ValueError, UnicodeDecodeError):
        good, body = False, None
    if not good or not isinstance(body, dict) or not body.get("name"):
        raise InputError("The approval token is not valid for this deployment (altered, or issued by another server); "
                         "copy a new one from the Review page.")
    if float(body.get("exp") or 0) < (time.time() if now is None else now):
        raise InputError("The approval token has expired; sign in on the Review page and copy a new one.")
    return Reviewer(str(body["name"]), "sign-in", email=body.get("email"), subject=body.get("sub"),
                    os_user=cli_reviewer(str(body["name"])).os_user)


def secrets_auth(paths: list[Path] | None = None) -> dict | None:
    """The ``[auth]`` section the app itself would read: ``~/.streamlit/secrets.toml``,
    then the project's ``.streamlit/secrets.toml`` over it (Streamlit's order), then
    ``$CLINLAB_SECRETS`` (a server started with ``--secrets.files`` elsewhere)."""
    from engine.paths import REPO_ROOT

    merged: dict = {}
    extra = [Path(os.environ[SECRETS_ENV])] if os.environ.get(SECRETS_ENV) else []
    for p in paths or [Path.home() / ".streamlit" / "secrets.toml", REPO_ROOT / ".streamlit" / "secrets.toml", *extra]:
        if p.is_file():
            try:
                merged.update(tomllib.loads(p.read_text(encoding="utf-8")).get("auth") or {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
                raise InputError(f"The secrets file {p} cannot be read, so no approval can be checked; ask the administrator.") from None
    return merged or None


def cli_identity(name: str, token: str | None, auth_section: Mapping[str, Any] | None) -> Reviewer:
    """Who approves from the command line: the typed name where sign-in is not
    configured; where it is, only the holder of a valid token (whose name it is)."""
    pol = auth.policy(auth_section)
    if pol.mode == "off":
        return cli_reviewer(name)
    if pol.mode == "broken":
        raise InputError("Sign-in is configured on this deployment but not set up correctly, so no video can be approved; "
                         "ask the administrator.")
    if not token:
        raise InputError("This deployment uses sign-in, so approving from the command line needs the token the Review page "
                         "gives a signed-in reviewer: pass it with --token.")
    who = verify(token, auth_section or {})
    if name.strip() and name.strip() != who.name:
        raise InputError(f"The token was issued to {who.name}, not to {name.strip()}; approve under your own sign-in.")
    return who
