"""scripts/constraints-pyX.Y.txt: the pinned versions the README's demo and test commands install."""

import configparser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = sorted((ROOT / "scripts").glob("constraints-py*.txt"))


def _pins(file):
    """``{canonical name: (line number, Requirement)}`` of a constraints file, each pin checked."""
    pins = {}
    for number, line in enumerate(file.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{file.name}:{number}: {name} is pinned twice"
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", (
            f"{file.name}:{number}: {requirement} is not name==version")
        assert not requirement.extras and requirement.marker is None and requirement.url is None, (
            f"{file.name}:{number}: {requirement} carries extras, a marker or a URL")
        pins[name] = (number, requirement)
    return pins


def _wanted():
    """musemood's own requirements as setup.cfg states them: install_requires and the dev and serve
    extras (what scripts/setup-venv.sh installs)."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    for extra in ("dev", "serve"):
        lines += config["options.extras_require"][extra].splitlines()
    return [Requirement(line) for line in lines if line.strip()]


def test_there_are_pins_for_the_python_ci_runs():
    assert ROOT / "scripts" / "constraints-py3.11.txt" in CONSTRAINTS


@pytest.mark.parametrize("file", CONSTRAINTS, ids=lambda f: f.name)
def test_each_pin_is_one_exact_version(file):
    pins = _pins(file)
    assert len(pins) > 100  # the whole environment, not only musemood's direct requirements
    assert "torch" not in pins and "musemood" not in pins, "torch and musemood are pinned elsewhere"


@pytest.mark.parametrize("file", CONSTRAINTS, ids=lambda f: f.name)
def test_every_requirement_of_setup_cfg_is_pinned_within_its_range(file):
    pins = _pins(file)
    python = file.stem.removeprefix("constraints-py")  # "3.11"
    for requirement in _wanted():
        name = canonicalize_name(requirement.name)
        if name == "torch":  # scripts/setup-venv.sh installs TORCH_VERSION first
            continue
        if requirement.marker and not requirement.marker.evaluate({"python_version": python}):
            continue  # e.g. tomli, for Pythons before 3.11 only
        assert name in pins, (f"setup.cfg asks for {requirement} but {file.name} has no {name}: "
                              "run scripts/update-constraints.sh")
        number, pin = pins[name]
        version = next(iter(pin.specifier)).version
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{file.name}:{number} pins {name}=={version}, outside setup.cfg's {requirement}: "
            "run scripts/update-constraints.sh")


@pytest.mark.parametrize("broken, message", [
    ("numpy>=1.24\n", "constraints.txt:2: numpy>=1.24 is not name==version"),
    ("numpy==2.0\nNumPy==2.1\n", "constraints.txt:3: numpy is pinned twice"),
    ("numpy==2.0; python_version < '3.12'\n", "constraints.txt:2: .* carries extras, a marker or a URL"),
])
def test_a_broken_pin_is_named_with_its_line(tmp_path, broken, message):
    (tmp_path / "constraints.txt").write_text("# a comment\n" + broken)
    with pytest.raises(AssertionError, match=message):
        _pins(tmp_path / "constraints.txt")
