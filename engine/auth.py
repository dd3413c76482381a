"""Who may open the patient-data pages: the sign-in policy, without Streamlit.

The app signs users in with Streamlit's native OpenID Connect support (``st.login``),
configured by an ``[auth]`` section in ``.streamlit/secrets.toml`` (see
docs/security.md).  This module only decides, from that section and the
environment, which of three states the deployment is in:

- ``off``: no ``[auth]`` section and sign-in not demanded: a single-user,
  local installation; every page is open.
- ``on``: a complete ``[auth]`` section: patient pages need a signed-in user.
- ``broken``: an ``[auth]`` section that is incomplete or unsafe, or
  ``CLINLAB_REQUIRE_SIGN_IN=1`` without a usable section.  Patient pages stay
  closed (fail closed) and say why in one sentence, without any secret in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlparse

REQUIRE_ENV = "CLINLAB_REQUIRE_SIGN_IN"
SHARED_KEYS = ("redirect_uri", "cookie_secret", "expose_tokens")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
MIN_COOKIE_SECRET = 32
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class AuthPolicy:
    mode: str  # "off" | "on" | "broken"
    provider: str | None = None  # name for st.login(); None = the default [auth] provider
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sentence(self) -> str:
        """What a user is told when the patient pages are closed because of the set-up."""
        return (
            "Sign-in is required on this server but is not set up correctly, so patient pages are closed; "
            "ask the administrator to check the [auth] section of the secrets (docs/security.md)."
        )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _provider_problems(name: str, conf: Mapping[str, Any]) -> list[str]:
    missing = [k for k in PROVIDER_KEYS if not conf.get(k)]
    problems = [f"provider {name!r} lacks {', '.join(missing)}"] if missing else []
    url = str(conf.get("server_metadata_url") or "")
    if url and urlparse(url).scheme not in ("http", "https"):
        problems.append(f"provider {name!r}: server_metadata_url must be an http(s) URL")
    return problems


def policy(auth_section: Mapping[str, Any] | None, env: Mapping[str, str] | None = None) -> AuthPolicy:
    """The sign-in state for an ``[auth]`` secrets section (``None`` or ``{}``: absent)."""
    env = os.environ if env is None else env
    required = env.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes")
    auth = _plain(auth_section or {})
    if not auth:
        if required:
            return AuthPolicy("broken", problems=(f"{REQUIRE_ENV} is set but secrets have no [auth] section",))
        return AuthPolicy("off")
    problems: list[str] = []
    redirect = str(auth.get("redirect_uri") or "")
    parsed = urlparse(redirect)
    if not redirect:
        problems.append("redirect_uri is missing")
    elif not redirect.endswith("/oauth2callback"):
        problems.append("redirect_uri must end with /oauth2callback")
    elif parsed.scheme != "https" and parsed.hostname not in _LOCAL_HOSTS:
        problems.append("redirect_uri must use https except on localhost")
    secret = str(auth.get("cookie_secret") or "")
    if len(secret) < MIN_COOKIE_SECRET:
        problems.append(f"cookie_secret must be a random string of at least {MIN_COOKIE_SECRET} characters")
    named = {k: v for k, v in auth.items() if isinstance(v, Mapping) and k not in SHARED_KEYS}
    provider: str | None = None
    if any(k in auth for k in PROVIDER_KEYS):
        problems += _provider_problems("default", auth)
    elif len(named) == 1:
        provider = next(iter(named))
        problems += _provider_problems(provider, named[provider])
    elif named:
        problems.append("several providers are configured; keep exactly one for this app")
    else:
        problems.append("no provider (client_id, client_secret, server_metadata_url) is configured")
    if problems:
        return AuthPolicy("broken", provider, tuple(problems))
    return AuthPolicy("on", provider)
