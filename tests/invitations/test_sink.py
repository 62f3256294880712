"""The development mail sink: one folder for the command that writes it and the page that reads it."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from survey.config import from_environment
from tests.conftest import TEST_SECRET
from tests.live_server import ROOT, free_port


def wait_for_port(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 120  # a generous ceiling for a loaded machine, not a measurement
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the sink did not start")


def test_the_sink_command_writes_where_the_setting_says_and_the_page_reads_it(app, client, login, tmp_path):
    folder = tmp_path / "thu-thu-nghiem"
    env = {name: value for name, value in os.environ.items() if not name.startswith("SURVEY_")}
    env.update(SURVEY_ENV="development", SURVEY_INSTANCE_DIR=str(tmp_path / "instance"),
               SURVEY_MAIL_SINK_DIR=str(folder))
    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).parent / "survey"), "mail", "sink", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(process, port)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@localhost", "b@example.vn", "Thư thử nghiệm"
        message.set_content("Nội dung")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)  # the sink writes the file before it answers 250
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert len(list(folder.glob("*.eml"))) == 1
    assert not (tmp_path / "instance" / "mail").exists()

    settings = from_environment({"SURVEY_SECRET_KEY": TEST_SECRET, "SURVEY_DATABASE_URL": "sqlite://",
                                 "SURVEY_MAIL_SINK_DIR": str(folder)})
    app.config["MAIL_SINK_DIR"] = settings["MAIL_SINK_DIR"]
    login("system_admin")
    assert "Thư thử nghiệm" in client.get("/admin/mail/sink").text


def test_only_a_system_administrator_reads_the_sink(app, client, login, tmp_path):
    (tmp_path / "20240101T000000-00001-x.eml").write_bytes(
        b"To: r1@example.vn\r\nSubject: =?utf-8?q?Th=C6=B0_m=E1=BB=9Di?=\r\n\r\nhttp://localhost/r/abc\r\n")
    app.config["MAIL_SINK_DIR"] = str(tmp_path)
    login("province_admin")
    assert client.get("/admin/mail/sink").status_code == 403
    assert client.get("/admin/mail/sink/20240101T000000-00001-x.eml").status_code == 403
    assert "Xem các thư đã gửi" not in client.get("/admin/mail").text
    with client.session_transaction() as cookie:
        cookie.clear()
    login("system_admin")
    assert "Thư mời" in client.get("/admin/mail/sink").text
    assert "http://localhost/r/abc" in client.get("/admin/mail/sink/20240101T000000-00001-x.eml").text
    assert "Xem các thư đã gửi" in client.get("/admin/mail").text
