"""Issue 20, failures 6 and 7: `marsad serve` against a hostile client and a folder with bad records."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
import urllib.request

import orjson
import pytest

from evaluation.browser import free_port
from pipelines.cli import main
from pipelines.report.serve import LiveReport, allowed_host

from .records import alert, article, write_folder


def request(live: LiveReport, path: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    address, port = live.server.server_address[:2]
    connection = http.client.HTTPConnection(str(address), port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def served(tmp_path):
    folder = write_folder(
        tmp_path / "out",
        articles=[article("a1")],
        # A malformed alert (the probe: only alert_id and revision), a line that is not JSON, a good alert.
        alerts=[{"alert_id": "x", "revision": 1}, b"{not json", alert("al-1", "constructor", "a1")],
    )
    live = LiveReport(str(folder), port=free_port(), read_timeout=0.5)
    live.start()
    yield live
    live.stop()


def test_a_malformed_record_is_a_counted_problem_not_a_dropped_connection(served):
    for _ in range(2):  # every later GET too
        status, _, body = request(served, "/api/updates?since=0")
        assert status == 200
        data = orjson.loads(body)
        assert [a["alert_id"] for a in data["alerts"]] == ["al-1"]
        reasons = {p["reason"]: p["count"] for p in data["problems"]}
        malformed = "malformed alerts record: field 'rule_id' missing or not str"
        assert reasons == {malformed: 1, "alerts line is not JSON": 1}
    assert request(served, "/")[0] == 200


def test_report_of_a_folder_with_a_malformed_record_exits_0(tmp_path, capsys):
    folder = write_folder(tmp_path / "out", alerts=[{"alert_id": "x", "revision": 1}])
    assert main(["report", str(folder)]) == 0
    assert "malformed" in (folder / "report.html").read_text(encoding="utf-8")


def test_host_header_must_name_this_server(served):
    port = served.server.server_address[1]
    for good in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        assert request(served, "/api/updates", host=good)[0] == 200, good
    for bad in ("evil.example", f"evil.example:{port}", "", "127.0.0.1.evil.example"):
        assert request(served, "/api/updates", host=bad)[0] == 421, bad


def test_host_rules_for_a_wildcard_bind():
    assert allowed_host("192.168.1.9:8700", "0.0.0.0")
    assert allowed_host(socket.gethostname(), "0.0.0.0")
    assert not allowed_host("rebound.attacker.example", "0.0.0.0")
    assert not allowed_host("192.168.1.9", "127.0.0.1")


def test_every_response_carries_a_policy(served):
    status, headers, _ = request(served, "/")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'") and "frame-ancestors 'none'" in policy
    assert "connect-src 'self'" in policy and "unsafe-inline" not in policy
    assert request(served, "/nothing")[1]["Content-Security-Policy"].startswith("default-src 'none'")
    assert request(served, "/api/updates")[1]["X-Content-Type-Options"] == "nosniff"


def test_a_client_that_never_sends_a_whole_request_is_dropped(served):
    address, port = served.server.server_address[:2]
    with socket.create_connection((str(address), port), timeout=5) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        started = time.monotonic()
        assert client.recv(1024) == b""  # closed by the server, not by our own timeout
        assert time.monotonic() - started < 4
    with urllib.request.urlopen(served.url + "api/updates", timeout=10) as response:
        assert response.status == 200


def test_serving_on_every_interface_warns_that_there_is_no_authentication(tmp_path):
    folder = write_folder(tmp_path / "out", articles=[article("a1")])
    port = free_port()
    command = [sys.executable, "-m", "pipelines.cli", "serve", "--input", str(folder), "--host", "0.0.0.0"]
    process = subprocess.Popen([*command, "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stderr.readline() for _ in range(2)] if process.stderr else []
    finally:
        process.terminate()
        process.wait(10)
    assert any("no authentication" in line for line in lines), lines
