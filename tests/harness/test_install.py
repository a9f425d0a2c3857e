"""Install hints that work: from a clone `pip install -e` of that clone, from an installed
package the index's name."""

from __future__ import annotations

from pathlib import Path

from dbnbench.harness import install
from dbnbench.harness.frameworks.torch_fw import TorchFramework
from dbnbench.suites import quality

REPO = Path(__file__).resolve().parents[2]


def test_from_a_clone_the_hint_installs_the_clone(tmp_path):
    assert install.clone() == REPO  # these tests run from the source tree
    assert install.pip_extra("torch", cwd=REPO) == "pip install -e '.[torch]'"
    assert install.pip_extra("torch", cwd=tmp_path) == f"pip install -e '{REPO}[torch]'"


def test_an_installed_package_names_the_index(monkeypatch):
    monkeypatch.setattr(install, "clone", lambda: None)
    assert install.pip_extra("tensorflow") == "pip install 'dbnbench[tensorflow]'"


def test_a_wheel_without_its_project_file_is_not_a_clone(tmp_path, monkeypatch):
    fake = tmp_path / "site-packages" / "dbnbench" / "harness" / "install.py"
    fake.parent.mkdir(parents=True)
    monkeypatch.setattr(install, "__file__", str(fake))
    install.clone.cache_clear()
    try:
        assert install.clone() is None
        (tmp_path / "site-packages" / "pyproject.toml").write_text('[project]\nname = "other"\n')
        install.clone.cache_clear()
        assert install.clone() is None
    finally:
        install.clone.cache_clear()


def test_the_hints_in_reasons_use_it():
    assert TorchFramework.install_hint.startswith("pip install -e '")
    assert TorchFramework.install_hint.endswith("[torch]'")
    assert "[mnist]' or --data-dir" in quality.NO_MNIST
