
import pytest
from support import ROOT

from responder.config import Config, load

pytest_plugins = ["servers.fixtures"]


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The shipped example configuration (the practice of the contract), for the pure tests."""
    folder = tmp_path_factory.mktemp("config")
    (folder / "config.yaml").write_text((ROOT / "config.example.yaml").read_text())
    return load(folder / "config.yaml", environ={})
