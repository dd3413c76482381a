"""Sign-in for the tests: a well-formed ``[auth]`` section, a secrets file pointing at a
local OpenID Connect provider, and that provider (``oidc-provider-mock``) as a fixture.

A pytest plugin (listed in tests/conftest.py), so every test module gets ``provider``.
"""

from __future__ import annotations

import contextlib
import secrets as pysecrets
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.server import require_chromium, serve_app

# An [auth] section the policy accepts (its provider is never reached: AppTest only).
GOOD_AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 40,
    "client_id": "movement-lab",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://login.example.org/.well-known/openid-configuration",
}
CLIENT_SECRET = "test-client-secret-" + pysecrets.token_hex(8)  # must never reach a log


@pytest.fixture(scope="module")
def provider():
    """A local OpenID Connect provider's base URL (on localhost, port chosen by the OS)."""
    import authlib  # noqa: F401 - st.login needs Authlib; in the lock
    import oidc_provider_mock as mock
    with mock.run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


def auth_secrets(path: Path, provider: str) -> Path:
    """A secrets file whose [auth] section signs in at the local ``provider``."""
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{pysecrets.token_hex(32)}"\n'
        'client_id = "movement-lab"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    return path


@contextlib.contextmanager
def serve_signed_in(provider: str, root: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The app with sign-in at the local ``provider`` (``root``: its secrets file, its
    TMPDIR ``root/tmp`` and its log ``root/server.log``); yields the base URL."""
    require_chromium()
    (root / "tmp").mkdir()
    secrets = auth_secrets(root / "secrets.toml", provider)
    with serve_app(tmpdir=root / "tmp", log_path=root / "server.log", extra_args=["--secrets.files", str(secrets)],
                   env=env) as base:
        yield base
