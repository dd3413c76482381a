"""Sign-off: the chained audit log and the approve / verify-log / rerender commands,
on a real de-identified clip (a moving face, 1 s, de-identified once per module)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.deid import auditlog, release, signoff, tokens
from engine.errors import InputError
from tests.support.clips import write_clip
from tests.support.scene import moving_face_frames

REPO = Path(__file__).resolve().parent.parent


def _engine(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def deidentified(tmp_path_factory) -> dict:
    """A clip, its de-identified copy and report, made by the real CLI."""
    d = tmp_path_factory.mktemp("signoff")
    frames, boxes = moving_face_frames(n=30)
    src = write_clip(d / "in.mp4", frames)
    out, rep = d / "out.mp4", d / "report.json"
    res = _engine("deid", str(src), "-o", str(out), "--report", str(rep), "--quiet")
    assert res.returncode == 0, res.stderr[-500:]
    return {"dir": d, "src": src, "out": out, "report": rep, "boxes": boxes}


def _body(i: int) -> dict:
    return {"kind": "approval", "reviewer": {"name": f"reviewer {i}"}, "output_sha256": f"{i:064x}"}


def _log_of(tmp_path: Path, n: int = 4) -> Path:
    log = tmp_path / "audit.jsonl"
    for i in range(n):
        auditlog.append(log, _body(i))
    return log


def _rewrite(log: Path, lines: list[str]) -> None:
    log.write_text("".join(lines), encoding="utf-8")


# ------------------------------------------------------------------ the chain


def test_chain_links_every_record(tmp_path):
    log = _log_of(tmp_path)
    recs = auditlog.read(log)
    assert [r["seq"] for r in recs] == [0, 1, 2, 3]
    assert recs[0]["prev"] == auditlog.GENESIS
    assert all(b["prev"] == a["hash"] for a, b in zip(recs, recs[1:]))
    v = auditlog.verify(log)
    assert v.ok and v.records == 4 and v.last_hash == recs[-1]["hash"]


def test_edited_record_is_named(tmp_path):
    log = _log_of(tmp_path)
    lines = log.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("reviewer 2", "reviewer X")
    _rewrite(log, lines)
    v = auditlog.verify(log)
    assert not v.ok and v.message.startswith("Record 3 ") and "edited" in v.message


def test_edited_record_with_recomputed_hash_breaks_the_next_link(tmp_path):
    log = _log_of(tmp_path)
    recs = auditlog.read(log)
    recs[1]["reviewer"] = {"name": "someone else"}
    recs[1]["hash"] = auditlog.record_hash(recs[1])  # a forger who knows the rule
    _rewrite(log, [auditlog.canonical(r).decode() + "\n" for r in recs])
    v = auditlog.verify(log)
    assert not v.ok and v.message.startswith("Record 3 ")


def test_removed_record_is_named(tmp_path):
    log = _log_of(tmp_path)
    lines = log.read_text().splitlines(keepends=True)
    _rewrite(log, lines[:1] + lines[2:])
    v = auditlog.verify(log)
    assert not v.ok and v.message.startswith("Record 2 ") and "removed" in v.message


def test_reordered_records_are_named(tmp_path):
    log = _log_of(tmp_path)
    lines = log.read_text().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    _rewrite(log, lines)
    v = auditlog.verify(log)
    assert not v.ok and v.message.startswith("Record 2 ") and "reordered" in v.message


def test_removed_last_record_is_caught_by_the_head_file_and_the_kept_hash(tmp_path):
    log = _log_of(tmp_path)
    kept = auditlog.read(log)[-1]["hash"]
    lines = log.read_text().splitlines(keepends=True)
    _rewrite(log, lines[:-1])
    v = auditlog.verify(log)
    assert not v.ok and "the last 1 were removed" in v.message
    auditlog.head_path(log).unlink()  # even without the head file, the hash kept elsewhere tells
    assert not auditlog.verify(log, expect_head=kept).ok
    assert auditlog.verify(log).ok  # a bare chain cannot see its own cut-off end (documented)


def test_damaged_log_refuses_further_approvals(tmp_path):
    log = _log_of(tmp_path, 2)
    with log.open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(InputError, match="damaged"):
        signoff.approve(log, _body(9))


# ------------------------------------------------------------------ identity


def test_sign_in_configured_needs_the_signed_in_identity():
    typed = signoff.cli_reviewer("Dr A")
    assert signoff.check_identity(typed, "off") == typed
    with pytest.raises(InputError, match="signed-in reviewer"):
        signoff.check_identity(typed, "on")
    with pytest.raises(InputError, match="not working"):
        signoff.check_identity(typed, "broken")
    signed = signoff.Reviewer("Dr A", "sign-in", email="a@example.org", subject="123")
    assert signoff.check_identity(signed, "on") == signed


# ------------------------------------------------------------------ the commands


def test_unapproved_output_is_labelled_in_its_metadata(deidentified):
    assert release.tags(deidentified["out"])["comment"] == release.UNAPPROVED_COMMENT
    report = json.loads(deidentified["report"].read_text())
    assert report["input"]["sha256"] == auditlog.sha256_file(deidentified["src"])


def test_approve_then_verify_then_tamper(deidentified, tmp_path):
    d = deidentified
    log, summary = tmp_path / "audit.jsonl", tmp_path / "summary.html"
    res = _engine("approve", str(d["out"]), "--report", str(d["report"]), "--reviewer", "Dr Ada Example",
                  "--reviewed", "0-5,12", "--log", str(log), "--summary", str(summary))
    assert res.returncode == 0, res.stderr
    printed = json.loads(res.stdout)
    rec = auditlog.read(log)[0]
    assert printed["hash"] == rec["hash"]
    assert rec["output_sha256"] == auditlog.sha256_file(d["out"])
    assert rec["input_sha256"] == auditlog.sha256_file(d["src"])
    assert rec["reviewer"]["name"] == "Dr Ada Example" and rec["reviewer"]["source"] == "command line"
    assert rec["frames_reviewed"] == [0, 1, 2, 3, 4, 5, 12]
    assert rec["qc"]["passed"] is True and rec["settings"]["mode"] == "blur" and rec["engine_version"]
    assert "Dr Ada Example" in summary.read_text() and rec["hash"] in summary.read_text()
    assert _engine("approve", str(d["out"]), "--report", str(d["report"]), "--reviewer", "Dr B", "--log", str(log)).returncode == 0

    ok = _engine("verify-log", str(log))
    assert ok.returncode == 0 and "intact: 2 records" in ok.stdout
    text = log.read_text().replace("Dr Ada Example", "Dr Nobody")
    log.write_text(text)
    bad = _engine("verify-log", str(log))
    assert bad.returncode == 4 and bad.stderr.strip().startswith("Record 1 ") and "Traceback" not in bad.stderr


def test_bad_input_gets_one_sentence(deidentified, tmp_path):
    d = deidentified
    log = tmp_path / "audit.jsonl"
    wrong = _engine("approve", str(d["out"]), "--report", str(d["report"]), "--reviewer", "X", "--reviewed", "0-999", "--log", str(log))
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: Frame 30 was listed as reviewed") and "Traceback" not in wrong.stderr
    corr = tmp_path / "c.json"
    corr.write_text(json.dumps([{"action": "add", "start": 0, "end": 5, "box": [10, 10, 50, 50]}]))
    unapplied = _engine("approve", str(d["out"]), "--report", str(d["report"]), "--reviewer", "X",
                        "--corrections", str(corr), "--log", str(log))
    assert unapplied.returncode == 2 and "not the ones this video was rendered with" in unapplied.stderr
    assert not log.exists(), "a refused approval wrote a record"
    for item, words in [
        ({"action": "add", "start": 0, "end": 99, "box": [10, 10, 50, 50]}, "the clip has frames 0–29"),
        ({"action": "add", "start": 0, "end": 5, "box": [700, 10, 800, 50]}, "outside the 640×360 picture"),
        ({"action": "remove", "start": 0, "end": 5, "box": [10, 10, 50, 50]}, "needs a reason"),
    ]:
        corr.write_text(json.dumps([item]))
        res = _engine("rerender", str(d["src"]), "--report", str(d["report"]), "--corrections", str(corr),
                      "-o", str(tmp_path / "fixed.mp4"), "--quiet")
        assert res.returncode == 2 and words in res.stderr and res.stderr.count("\n") == 1, res.stderr
        assert not (tmp_path / "fixed.mp4").exists()
    other = tmp_path / "other.mp4"
    release.label(d["out"], other, title="x", comment="y")  # same frames, another file
    mismatch = _engine("approve", str(other), "--report", str(d["report"]), "--reviewer", "X", "--log", str(log))
    assert mismatch.returncode == 2 and "written for another rendering" in mismatch.stderr and not log.exists()
    missing = _engine("verify-log", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 4 and "does not exist" in missing.stderr


# ------------------------------------------------------------------ batch


def test_batch_lists_videos_awaiting_review_and_approve_marks_them(deidentified, tmp_path):
    import shutil

    import pandas as pd

    from engine.batch import manifest as mf

    out_dir = tmp_path / "batch-out"
    rows = [
        {"source": "a.mp4", "video_id": "aaaa", "status": "done", "qc_passed": True, "frames_person_uncovered": 0},
        {"source": "b.mp4", "video_id": "bbbb", "status": "done", "qc_passed": False, "frames_person_uncovered": 3},
        {"source": "c.mp4", "video_id": "cccc", "status": "failed"},
    ]
    mf.write(pd.DataFrame(rows), out_dir / mf.MANIFEST)
    assert list(mf.review_states(mf.read(out_dir / mf.MANIFEST))) == ["awaiting", "awaiting", None]
    assert list(mf.awaiting_review(mf.read(out_dir / mf.MANIFEST))["video_id"]) == ["bbbb", "aaaa"]  # QC-flagged first
    video = out_dir / mf.VIDEOS / "aaaa" / "video.mp4"
    video.parent.mkdir(parents=True)
    shutil.copy(deidentified["out"], video)
    log = tmp_path / "audit.jsonl"
    res = _engine("approve", str(video), "--report", str(deidentified["report"]), "--reviewer", "Dr A",
                  "--log", str(log), "--batch", str(out_dir))
    assert res.returncode == 0, res.stderr
    table = mf.read(out_dir / mf.MANIFEST)
    assert list(mf.review_states(table)) == ["approved", "awaiting", None] and table.loc[0, "reviewed_by"] == "Dr A"
    assert list(mf.awaiting_review(table)["video_id"]) == ["bbbb"]
    stray = _engine("approve", str(deidentified["out"]), "--report", str(deidentified["report"]), "--reviewer", "Dr A",
                    "--log", str(log), "--batch", str(out_dir))
    assert stray.returncode == 2 and "inside the batch's videos" in stray.stderr and len(auditlog.read(log)) == 1


AUTH = {"redirect_uri": "https://lab.example.org/oauth2callback", "cookie_secret": "s" * 40, "client_id": "id",
        "client_secret": "secret", "server_metadata_url": "https://id.example.org/.well-known/openid-configuration"}


def test_approval_tokens_carry_the_signed_in_identity_to_the_command_line():
    signed = signoff.Reviewer("Dr A", "sign-in", email="a@example.org", subject="123")
    token = tokens.issue(signed, AUTH)
    who = tokens.cli_identity("", token, AUTH)
    assert (who.name, who.source, who.email, who.subject) == ("Dr A", "sign-in", "a@example.org", "123")
    assert signoff.check_identity(who, "on") == who
    assert tokens.cli_identity("Dr B", None, None).source == "command line"  # no sign-in configured: the typed name
    payload, sig = token.split(".")
    forged = tokens._b64(json.dumps({"name": "Dr B", "email": None, "sub": None, "exp": 2**40}).encode())
    cases = [
        ("Dr A", None, AUTH, "needs the token"),
        ("Dr A", f"{forged}.{sig}", AUTH, "not valid for this deployment"),
        ("Dr A", token, {**AUTH, "cookie_secret": "t" * 40}, "not valid for this deployment"),
        ("Dr A", "garbage", AUTH, "not valid"),
        ("Dr B", token, AUTH, "issued to Dr A, not to Dr B"),
        ("Dr A", tokens.issue(signed, AUTH, now=0), AUTH, "expired"),
        ("Dr A", token, {**AUTH, "cookie_secret": "short"}, "not set up correctly"),
    ]
    for name, tok, section, words in cases:
        with pytest.raises(InputError, match=words):
            tokens.cli_identity(name, tok, section)
    with pytest.raises(InputError, match="Only a signed-in reviewer"):
        tokens.issue(signoff.cli_reviewer("Dr A"), AUTH)


def test_cli_approve_where_sign_in_is_configured_needs_a_token(deidentified, tmp_path):
    d = deidentified
    home = tmp_path / "home"
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text("[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in AUTH.items()))
    env = {**os.environ, "HOME": str(home)}
    env.pop("CLINLAB_APPROVAL_TOKEN", None)
    log = tmp_path / "audit.jsonl"
    args = [sys.executable, "-m", "engine", "approve", str(d["out"]), "--report", str(d["report"]), "--log", str(log)]
    refused = subprocess.run(args + ["--reviewer", "Dr A"], cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert refused.returncode == 2 and "needs the token" in refused.stderr and "Traceback" not in refused.stderr
    assert not log.exists()  # nothing appended
    token = tokens.issue(signoff.Reviewer("Dr A", "sign-in", email="a@example.org", subject="123"), AUTH)
    env["CLINLAB_APPROVAL_TOKEN"] = token
    pdf = tmp_path / "approval.pdf"
    ok = subprocess.run(args + ["--summary", str(pdf)], cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert ok.returncode == 0, ok.stderr
    rec = auditlog.read(log)[0]["reviewer"]
    assert (rec["name"], rec["source"], rec["email"], rec["subject"]) == ("Dr A", "sign-in", "a@example.org", "123")
    data = pdf.read_bytes()  # the one-page PDF summary
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) == 1 and b"audit record 0" in data
