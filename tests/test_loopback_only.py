"""Tests and benchmarks reach loopback alone (README, "Tests and benchmarks").

``make test`` and ``make bench`` run in a network namespace with only ``lo`` up when they
run as root (scripts/loopback_only.sh).  Here: that the namespace is what it claims, and
that no test or benchmark file names an address or host other than loopback, so that a
run without the namespace (not root) still talks to nobody else.  Example hosts of the
docs (RFC 2606 / 6761 names: ``example.org``, ``*.example``, ``.test``, ``.invalid``) are
allowed: they appear as configuration examples and are never contacted.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCANNED = ("tests", "bench")
SUFFIXES = {".py", ".json", ".toml", ".yaml", ".yml", ".md", ".txt", ".cfg", ".ini", ".sh"}
EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net")
EXAMPLE_TLDS = (".example", ".test", ".invalid", ".localhost")

_URL_HOST = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/\s\"']*@)?(\[[0-9a-fA-F:.]+\]|[^/:\s\"'?#\]\[{}]+)")
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w.])")
_QUOTED_IPV6 = re.compile(r"[\"']([0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})[\"']")
_HOST_NAME = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$")
NOT_HOSTS = {"auto", "local", "none"}  # Ray's address keywords
_HOST_ARG = re.compile(r"""(?i)(?<![a-z])(?:host|hostname|address|bind|listen)["']?\s*[=:,]\s*["']([^"'\s]+)["']""")


def _allowed_host(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost" or host.endswith(EXAMPLE_TLDS):
        return True
    return any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)


def offending_hosts(text: str) -> list[str]:
    """Every address or host name in ``text`` that is neither loopback nor an example host."""
    found = [m.group(1) for m in _URL_HOST.finditer(text)]
    found += [m.group(0) for m in _IPV4.finditer(text) if all(int(o) <= 255 for o in m.groups())]
    for m in _QUOTED_IPV6.finditer(text):
        try:
            ipaddress.IPv6Address(m.group(1))
        except ValueError:
            continue
        found.append(m.group(1))
    for m in _HOST_ARG.finditer(text):
        value = m.group(1)
        if value.startswith(("{", "$", "%")) or not re.search(r"[a-zA-Z0-9]", value):
            continue  # a template or placeholder, not a host
        if value.lower() not in NOT_HOSTS and (_HOST_NAME.match(value) or ":" in value):
            found.append(value)
    return [h for h in found if not _allowed_host(h)]


def test_the_scanner_catches_other_hosts_and_lets_loopback_pass():
    bad = [
        "requests.get('http://10.1.2.3:8000/x')",
        'ADDR = "192.168.0.7"',
        "url = 'https://pypi.org/simple'",
        "'fd00::2'",
        "http://[fd00::2]:8080/",
        "ray.init(address='ray://cluster.hospital.org:10001')",
        'server = make_server(host="0.0.0.0", port=0)',
        'server_address = "lab-gpu01"',
    ]
    for line in bad:
        assert offending_hosts(line), line
    good = [
        "base = f'http://127.0.0.1:{port}'",
        "http://localhost:8501/oauth2callback",
        "https://login.example.org/.well-known/openid-configuration",
        "'::1'",
        "[sys.executable, '-m', 'moto.server', '-H', '127.0.0.1']",
        "torch==2.13.0, frames[::2], '12:30:45', ray.init(address='auto')",
        "version 0.10.21 and 1.2.3",
    ]
    for line in good:
        assert not offending_hosts(line), (line, offending_hosts(line))


def test_no_test_or_benchmark_file_names_another_host():
    here = Path(__file__).resolve()
    problems = []
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file() or path.resolve() == here:
                continue
            for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                for host in offending_hosts(line):
                    problems.append(f"{path.relative_to(REPO)}:{lineno}: {host}")
    assert not problems, "tests and benchmarks may reach loopback only:\n" + "\n".join(problems)


@pytest.mark.skipif(os.environ.get("CLINLAB_LOOPBACK_ONLY") != "1",
                    reason="network isolation is off (make test turns it on when run as root)")
def test_the_namespace_has_loopback_alone():
    names = {name for _, name in socket.if_nameindex()}
    assert names == {"lo"}, names
    # localhost resolves to loopback only, so a server reached by that name is ours
    for *_, addr in socket.getaddrinfo("localhost", 80, proto=socket.IPPROTO_TCP):
        assert ipaddress.ip_address(addr[0]).is_loopback, addr
