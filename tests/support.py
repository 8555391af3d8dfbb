"""What the tests share: a configuration builder, message builders, running the real CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
CONTRACT_ENV = {"IMAP_PASSWORD": "imap-secret", "SMTP_PASSWORD": "smtp-secret",
                "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "token"}

PRACTICE: dict[str, Any] = yaml.safe_load((ROOT / "config.example.yaml").read_text())["practice"]


def write_config(folder: Path, **sections: Any) -> Path:
    """A configuration with the example practice and the given top-level sections."""
    data: dict[str, Any] = {"practice": PRACTICE, "storage": {"url": "sqlite:///responder.db"},
                            "server": {"host": "127.0.0.1", "port": free_port()}}
    data.update(sections)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def inquiry(sender: str = "jordan.lee@example.org", subject: str = "Looking for a therapist",
            body: str = "Hi, I'm looking for a therapist for my anxiety. I have Aetna. Do you offer telehealth?",
            **headers: str) -> bytes:
    """A person's email, as a mail program would write it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "intake@practice.test"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        del message[name.replace("_", "-")]  # a Date or Message-ID given replaces the one above
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def migrated(config: Any) -> Any:
    """The configuration, its store first brought up to this release, as serve and poll do at start
    (a Service opens the store as it is)."""
    from responder.storage import migrate

    migrate.upgrade(config.storage.url)
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def responder(config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
              check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the installed command line exactly as a user would."""
    result = subprocess.run([sys.executable, "-m", "responder", "--config", str(config), *args],
                            capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"responder {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def start_responder(config: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen[bytes]:
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "responder", "--config", str(config), *args],
                            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})


def eventually(condition: Callable[[], Any], timeout: float = 10, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{message} not met within {timeout}s")
