"""DVC really moves the data: push to and pull from an S3 server, and pull on a fresh clone.

* A fresh ``git clone`` of the repository's committed HEAD runs ``dvc pull`` from the
  default remote (``dvc-store/`` inside the clone, ``url = ../dvc-store``) and gets
  files byte-identical (sha256) to this working tree's ``data/`` and ``models/``.
* That clone pushes to an S3 bucket on a ``moto`` server started here on 127.0.0.1;
  a second fresh clone, with its ``dvc-store/`` deleted so nothing can come from
  disk, pulls from the bucket alone and gets the same files.

Everything runs in temporary folders with DVC's global, system and site config/cache
pointed there too; the repository under test is only read.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.support.server import free_port, stop_process, wait_http_ok

pytestmark = pytest.mark.clone

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DVC = VENV_BIN / "dvc"
BUCKET = "movement-lab-dvc"


def _tracked_dirs(root: Path) -> list[str]:
    """Folders tracked by top-level ``*.dvc`` files (data, models)."""
    outs = []
    for f in sorted(root.glob("*.dvc")):
        if not f.is_file():
            continue  # the .dvc/ folder itself
        for line in f.read_text().splitlines():
            line = line.strip()
            if line.startswith("path:") or line.startswith("- path:"):
                outs.append(line.split(":", 1)[1].strip())
    return outs


def _hashes(folder: Path) -> dict[str, str]:
    out = {}
    if not folder.exists():
        return out
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _md5_manifest(root: Path, out: str) -> dict[str, str] | None:
    """relpath -> md5 that ``<out>.dvc`` records, read from the clone's dvc-store."""
    meta = (root / f"{out}.dvc").read_text()
    md5 = next(ln.split(":", 1)[1].strip() for ln in meta.splitlines() if "md5:" in ln)
    if not md5.endswith(".dir"):
        return None
    store = root / "dvc-store" / "files" / "md5" / md5[:2] / md5[2:]
    if not store.exists():
        return None
    return {e["relpath"]: e["md5"] for e in json.loads(store.read_text())}


@pytest.fixture(scope="module")
def dvc_env(tmp_path_factory) -> dict[str, str]:
    if not DVC.exists():
        pytest.fail(f"dvc is not installed next to {sys.executable}: run `make setup`", pytrace=False)
    home = tmp_path_factory.mktemp("dvc-home")
    for d in ("global", "system", "site"):
        (home / d).mkdir()
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "DVC_GLOBAL_CONFIG_DIR": str(home / "global"),
        "DVC_SYSTEM_CONFIG_DIR": str(home / "system"),
        "DVC_SITE_CACHE_DIR": str(home / "site"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        # DVC wraps `dvc remote list` at the terminal's width (80 when there is none), and a
        # pytest-xdist worker's temporary paths are long enough to wrap.
        "COLUMNS": "1000",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    for var in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL"):
        env.pop(var, None)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "no-aws-config")
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 180) -> str:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    return res.stdout


def _fresh_clone(dest: Path, env: dict[str, str]) -> Path:
    if not (REPO / ".git").exists():
        pytest.fail("the repository under test is not a git checkout", pytrace=False)
    _run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(dest)], cwd=dest.parent, env=env)
    return dest


def _dvc(clone: Path, env: dict[str, str], *args: str) -> str:
    return _run([DVC, *args], cwd=clone, env=env)


def _assert_same_as_working_tree(clone: Path) -> None:
    outs = _tracked_dirs(clone)
    assert "data" in outs, f"the clone tracks no data/ with DVC: {outs}"
    for out in outs:
        got = _hashes(clone / out)
        manifest = _md5_manifest(clone, out)
        if manifest is not None:
            assert set(got) == set(manifest), f"{out}/: pulled {sorted(got)} but {out}.dvc lists {sorted(manifest)}"
            for rel, md5 in manifest.items():
                assert hashlib.md5((clone / out / rel).read_bytes()).hexdigest() == md5, f"{out}/{rel}: md5 differs"
        if (REPO / f"{out}.dvc").read_text() != (clone / f"{out}.dvc").read_text():
            # Someone changed the tracker in the working tree without committing:
            # the clone (HEAD) can only be compared with what HEAD records.
            warnings.warn(f"{out}.dvc has uncommitted changes; compared the clone with HEAD's {out}.dvc only")
            continue
        if manifest is not None:
            here = {p.relative_to(REPO / out).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
                    for p in sorted((REPO / out).rglob("*")) if p.is_file()} if (REPO / out).exists() else {}
            if here != manifest:
                # Work in progress in this checkout (e.g. a model being trained into
                # models/ before `dvc add`): the clone was checked against the tracker.
                warnings.warn(f"the working tree's {out}/ differs from {out}.dvc; compared the clone with {out}.dvc only")
                continue
        want = _hashes(REPO / out)
        assert got == want, (
            f"{out}/ in the clone differs from the working tree's "
            f"(missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))}, "
            f"changed {sorted(k for k in set(got) & set(want) if got[k] != want[k])})"
        )


@pytest.fixture(scope="module")
def pulled_clone(tmp_path_factory, dvc_env) -> Path:
    """A fresh clone of HEAD after `dvc pull` from its default remote."""
    clone = _fresh_clone(tmp_path_factory.mktemp("clone") / "repo", dvc_env)
    for out in _tracked_dirs(clone):
        assert not _hashes(clone / out), f"{out}/ is committed to git; it must come from DVC"
    _dvc(clone, dvc_env, "pull")
    return clone


def test_fresh_clone_pulls_from_default_remote(pulled_clone, dvc_env):
    # The committed default remote is a relative path, so in a clone it is the clone's own dvc-store/.
    cfg = configparser.ConfigParser()
    cfg.read(pulled_clone / ".dvc" / "config")
    default = cfg.get("core", "remote")
    section = next(s for s in cfg.sections() if re.fullmatch(rf"""'?remote\s+"{re.escape(default)}"'?""", s))
    raw_url = cfg.get(section, "url")
    assert not Path(raw_url).is_absolute() and "://" not in raw_url, f"the default remote must live in the repo: {raw_url}"
    assert (pulled_clone / ".dvc" / raw_url).resolve() == (pulled_clone / "dvc-store").resolve(), raw_url
    listed = dict(ln.split(None, 1) for ln in _dvc(pulled_clone, dvc_env, "remote", "list").splitlines() if ln.strip())
    url = listed[default].split()[0]
    assert Path(url).resolve() == (pulled_clone / "dvc-store").resolve(), f"dvc resolves the default remote to {url}"

    _assert_same_as_working_tree(pulled_clone)
    targets = [f"{out}.dvc" for out in _tracked_dirs(pulled_clone)]
    status = json.loads(_dvc(pulled_clone, dvc_env, "status", "--json", *targets) or "{}")
    assert status == {}, f"dvc status after pull: {status}"
    cloud = json.loads(_dvc(pulled_clone, dvc_env, "status", "--cloud", "--json", *targets) or "{}")
    assert cloud == {}, f"cache and the default remote differ: {cloud}"


@pytest.fixture(scope="module")
def s3_server(dvc_env):
    """A moto S3 server on 127.0.0.1 with an empty bucket; yields its endpoint URL."""
    import boto3
    import moto.server  # noqa: F401 - the S3 server run below; in the lock
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=dvc_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(f"{endpoint}/moto-api/", timeout=60, proc=proc)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket=BUCKET)
        yield endpoint, s3
    finally:
        stop_process(proc)


def _add_s3_remote(clone: Path, env: dict[str, str], endpoint: str) -> None:
    # --local: the remote is this machine's; the committed config is left alone.
    _dvc(clone, env, "remote", "add", "--local", "s3test", f"s3://{BUCKET}/dvc")
    _dvc(clone, env, "remote", "modify", "--local", "s3test", "endpointurl", endpoint)


def test_push_to_and_pull_from_s3(pulled_clone, s3_server, dvc_env, tmp_path):
    endpoint, s3 = s3_server
    _add_s3_remote(pulled_clone, dvc_env, endpoint)
    _dvc(pulled_clone, dvc_env, "push", "-r", "s3test")

    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET) for o in page.get("Contents", [])]
    # one object per distinct content: a file tracked twice (a clip in two folders) is stored once
    n_files = len({h for out in _tracked_dirs(pulled_clone) for h in _hashes(pulled_clone / out).values()})
    assert len(keys) >= n_files > 0, f"the bucket holds {len(keys)} objects for {n_files} distinct files"
    assert all(k.startswith("dvc/files/md5/") for k in keys), keys[:5]

    second = _fresh_clone(tmp_path / "second", dvc_env)
    shutil.rmtree(second / "dvc-store")  # nothing may come from the default remote
    _add_s3_remote(second, dvc_env, endpoint)
    _dvc(second, dvc_env, "pull", "-r", "s3test")

    for out in _tracked_dirs(pulled_clone):
        assert _hashes(second / out) == _hashes(pulled_clone / out), f"{out}/ pulled from S3 differs"
    _assert_same_as_working_tree(pulled_clone)
    assert _hashes(second / "data"), "nothing was pulled into data/"
