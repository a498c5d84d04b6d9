"""``make test`` runs every package's tests: each top-level package with a ``tests`` folder is in
pytest's ``testpaths`` (a new app's tests are otherwise silently left out of the suite)."""

import configparser
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_every_package_with_tests_is_in_testpaths():
    config = configparser.ConfigParser()
    config.read(PROJECT_DIR / "pytest.ini")
    testpaths = set(config["pytest"]["testpaths"].split())
    with_tests = {
        path.parent.name
        for path in PROJECT_DIR.glob("*/tests")
        if path.is_dir() and not path.parent.name.startswith(".")
    }

    assert with_tests - testpaths == set()
    assert testpaths - with_tests == set()
