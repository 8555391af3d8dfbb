"""Configuration: the contract's file loads as written; every mistake names its key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support import CONTRACT_ENV, CORPUS, ROOT, responder

from responder.config import ConfigError, load

CONTRACT = CORPUS / "contract-config.yaml"  # a copy of ../shared/contract/config.yaml


def contract_text() -> str:
    return CONTRACT.read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_the_contract_configuration_loads_as_written(tmp_path: Path) -> None:
    config = load(write(tmp_path, contract_text()), environ=CONTRACT_ENV)
    assert config.practice.name == "Harbor Light Counseling"
    assert config.email.imap.password == "imap-secret"
    assert config.replies.mode("existing_client") == "off"
    assert config.replies.mode("new_inquiry") == "auto"
    assert config.practice.insurance.plans[1].aliases[-1] == "anthem"
    assert config.storage.url == f"sqlite:///{tmp_path}/var/responder.db"


def test_the_example_configuration_loads_and_needs_no_accounts(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    config = load(tmp_path / "config.yaml", environ={})
    assert config.email.imap is None and config.email.smtp is None and config.sms is None
    assert config.email.maildir.inbox == tmp_path / "mail" / "inbox"


def test_a_bare_off_means_off(tmp_path: Path) -> None:
    text = contract_text().replace("existing_client: {mode: off}", "existing_client:\n    mode: off")
    assert load(write(tmp_path, text), environ=CONTRACT_ENV).replies.mode("existing_client") == "off"


def test_a_missing_variable_is_named(tmp_path: Path) -> None:
    env = {k: v for k, v in CONTRACT_ENV.items() if k != "SMTP_PASSWORD"}
    with pytest.raises(ConfigError, match=r"SMTP_PASSWORD is not set \(used at email\.smtp\.password\)"):
        load(write(tmp_path, contract_text()), environ=env)


@pytest.mark.parametrize(("change", "expected"), [
    (("minutes: 15", "minutes: fifteen"), r"practice\.consultation\.minutes: .*integer"),
    (("security: starttls", "security: tls"), r"email\.smtp\.security: expected one of 'starttls', 'ssl' or 'none'"),
    (("email: intake@practice.test            #", "email: intake-at-practice #"), r"practice\.email: .*email address"),
    (('mon: "09:00-18:00"', 'mon: "9 to 5"'), r"practice\.availability\.hours: .*mon"),
    (("poll_seconds: 60", "poll_second: 60"), r"email\.imap\.poll_second: not a known setting"),
    (("timezone: America/Chicago", "timezone: Mars/Olympus"), r"practice\.timezone: .*IANA"),
    (("new_inquiry: {mode: auto}", "new_inquiry: {mode: sometimes}"), r"replies\.new_inquiry\.mode: expected one of"),
])
def test_a_wrong_value_names_its_key(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = contract_text()
    assert change[0] in text
    with pytest.raises(ConfigError, match=expected):
        load(write(tmp_path, text.replace(change[0], change[1], 1)), environ=CONTRACT_ENV)


def test_a_missing_key_is_named(tmp_path: Path) -> None:
    data = yaml.safe_load(contract_text())
    del data["practice"]["crisis"]
    with pytest.raises(ConfigError, match=r"practice\.crisis: required, but missing"):
        load(write(tmp_path, yaml.safe_dump(data)), environ=CONTRACT_ENV)


def test_the_command_line_stops_with_the_key_path(tmp_path: Path) -> None:
    path = write(tmp_path, contract_text().replace("port: 993", "port: ninety"))
    result = responder(path, "check", env=CONTRACT_ENV)
    assert result.returncode == 2
    assert "email.imap.port" in result.stderr and "Traceback" not in result.stderr
