"""The commands of the contract, run as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import CORPUS, ROOT, responder

DEV = CORPUS / "training" / "dev"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    return tmp_path / "config.yaml"


def test_classify_json_prints_one_object_per_file(example: Path) -> None:
    files = [DEV / "094-anxious-grad-student.eml", DEV / "019-pills-counted-tonight.sms.json", DEV / "064-bounce-user-unknown.eml"]
    result = responder(example, "classify", "--json", *map(str, files), check=True)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(f) for f in files]
    for line in lines:
        assert set(line) >= {"file", "channel", "category", "insurance", "services", "modality", "reply_to", "action", "reasons"}
        assert line["reasons"]
    email, text, bounce = lines
    assert (email["channel"], email["category"], email["action"]) == ("email", "new_inquiry", "auto")
    assert (text["channel"], text["category"], text["action"], text["reply_to"]) == ("sms", "crisis", "crisis", json.loads(files[1].read_text())["From"])
    assert (bounce["category"], bounce["action"], bounce["reply_to"]) == ("automated", "off", None)
    assert not list(example.parent.glob("var")), "classify stores nothing"


def test_classify_reads_as_text_for_people(example: Path) -> None:
    result = responder(example, "classify", str(DEV / "094-anxious-grad-student.eml"), check=True)
    assert "new_inquiry -> auto" in result.stdout and "  - " in result.stdout


def test_preview_prints_the_reply_without_sending(example: Path) -> None:
    result = responder(example, "preview", str(DEV / "094-anxious-grad-student.eml"), check=True)
    assert "Subject: Re: " in result.stdout and "To: " in result.stdout and "Auto-Submitted: auto-replied" in result.stdout
    assert "consultation" in result.stdout
    assert not (example.parent / "mail" / "outbox").exists()
    automated = responder(example, "preview", str(DEV / "064-bounce-user-unknown.eml"), check=True)
    assert "no reply would be sent" in automated.stdout


def test_check_passes_on_the_embedded_default(example: Path) -> None:
    result = responder(example, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   templates" in result.stdout and "ok   watching the Maildir" in result.stdout


def test_the_config_comes_from_the_environment_when_not_given(example: Path) -> None:
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "responder", "classify", str(DEV / "094-anxious-grad-student.eml")],
                            capture_output=True, text=True, env={**os.environ, "RESPONDER_CONFIG": str(example)}, cwd=example.parent.parent)
    assert result.returncode == 0 and "new_inquiry" in result.stdout


def test_serve_and_poll_refuse_to_start_with_a_broken_template(example: Path) -> None:
    (example.parent / "mine" / "email").mkdir(parents=True)
    (example.parent / "mine" / "email" / "crisis.j2").write_text("{% block subject %}x{% endblock %}{% block body %}{{ typo }}{% endblock %}")
    example.write_text(example.read_text().replace("# templates: ./templates", "templates: ./mine"))
    for command in (["poll", "--once"], ["serve"]):
        result = responder(example, *command, timeout=20)
        assert result.returncode == 2 and "email/crisis.j2" in result.stderr and "typo" in result.stderr


def test_eval_prints_the_figures_and_json(example: Path) -> None:
    text = responder(example, "eval", str(DEV), check=True).stdout
    assert "crisis recall 1.000" in text and "confusion" in text and "precision" in text
    figures = json.loads(responder(example, "eval", "--json", str(DEV), check=True).stdout)
    assert figures["files"] == 150 and set(figures["accuracy"]) == {"category", "insurance", "services", "modality", "reply_to"}
    assert responder(example, "eval", str(example.parent)).returncode == 1, "a folder without labels.yaml"
