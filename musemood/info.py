"""What this machine gives musemood: :func:`environment` (``musemood info``), for a bug report or a
first look at a new install.

Versions of Python, musemood and the libraries behind its numbers; torch's device; which optional
extras are installed; the packaged encoder; what ``$MUSEMOOD_HOME`` holds; and which API keys are set
and where (the environment or the keys file).  Never a key's value.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata


def requirements():
    """musemood's requirements as its installed metadata lists them (setup.cfg): ``(core, extras)``, the
    distributions it needs on this Python and ``{extra: [distributions]}`` for the optional extras (the
    developers' ``dev`` left out).  Empty when musemood runs from a folder it was not installed from."""
    from packaging.requirements import Requirement  # packaging: a requirement of transformers

    try:
        dist = metadata.distribution("musemood")
    except metadata.PackageNotFoundError:
        return [], {}
    extras = {name: [] for name in dist.metadata.get_all("Provides-Extra") or [] if name != "dev"}
    core = []
    for line in dist.requires or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or marker.evaluate({"extra": ""}):  # python_version markers: as this Python needs
            core.append(requirement.name)
            continue
        for extra, names in extras.items():
            if marker.evaluate({"extra": extra}):
                names.append(requirement.name)
    return core, extras


def environment() -> dict:
    """What ``musemood info`` shows, as a dict (JSON types only)."""
    from ._version import __version__

    core, extras = requirements()
    return {"musemood": __version__, "python": platform.python_version(), "executable": sys.executable,
            "platform": platform.platform(), "cpus": os.cpu_count(), "torch": _torch(),
            "libraries": {name: _version(name) for name in core},
            "extras": {extra: {name: _version(name) for name in names} for extra, names in extras.items()},
            "encoder": _encoder(), "home": _home(), "keys": _keys()}


def _version(distribution):
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _torch():
    import torch

    out = {"threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(), "gpu": None,
           "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())}
    if out["cuda"]:
        out["gpu"] = torch.cuda.get_device_name()
    from .encoders import _default_device

    out["device"] = str(_default_device())
    return out


def _encoder():
    from .encoders import default_model_path

    try:
        path = default_model_path()
    except ImportError as exc:
        return {"path": None, "problem": str(exc)}
    return {"path": str(path), "problem": None if (path / "config.json").exists() else "no config.json there"}


def _home():
    from .config import DATASET_FILE, STORE_FILE, home
    from .recommender import default_path

    path = home()
    runs = path / "runs"
    return {"path": str(path), "exists": path.is_dir(), "recommender": (default_path() / "config.json").is_file(),
            "dataset": (path / DATASET_FILE).exists(), "scrape store": (path / STORE_FILE).exists(),
            "runs": sum(1 for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else 0}


def _keys():
    """Where each key is set ("environment", "keys file" or None), and the keys file; never a value."""
    from . import config

    path = config.keys_path()
    out = {"file": str(path), "file exists": path.is_file(), "problem": None}
    try:
        in_file = config.read_keys()
    except (OSError, ValueError) as exc:  # reported, not raised: this is where a user looks for why
        in_file, out["problem"] = {}, str(exc)
    for name in config.KEY_NAMES:
        out[name] = "environment" if os.environ.get(name) else ("keys file" if in_file.get(name) else None)
    return out


def format_environment(info) -> str:
    """:func:`environment` as text for a terminal or a bug report."""
    torch = info["torch"]
    gpu = f", GPU {torch['gpu']}" if torch["gpu"] else (", Apple MPS" if torch["mps"] else "")
    lines = [f"musemood {info['musemood']}, Python {info['python']} ({info['executable']})",
             f"{info['platform']}, {info['cpus']} CPUs; torch on {torch['device']} ({torch['threads']} threads{gpu})",
             "", "libraries:"]
    lines += [f"  {name:<20} {version or 'not installed'}" for name, version in info["libraries"].items()]
    if not info["libraries"]:
        lines.append("  (unknown: musemood is not installed; pip install -e . in its folder)")
    lines += ["", "optional extras (pip install \"musemood[NAME]\"):"]
    for extra, names in info["extras"].items():
        found = [f"{name} {version}" for name, version in names.items() if version]
        state = "installed" if len(found) == len(names) else ("partly installed" if found else "not installed")
        lines.append(f"  {extra:<8} {state}" + (f" ({', '.join(found)})" if found else ""))
    encoder = info["encoder"]
    lines += ["", f"default encoder: {encoder['path'] or 'missing'}"
              + (f" ({encoder['problem']})" if encoder["problem"] else "")]
    home = info["home"]
    held = [name for name in ("recommender", "dataset", "scrape store") if home[name]]
    held += [f"{home['runs']} runs"] if home["runs"] else []
    lines.append(f"MUSEMOOD_HOME: {home['path']}" + (f" (holds: {', '.join(held) or 'nothing yet'})" if home["exists"]
                                                      else " (not made yet)"))
    keys = info["keys"]
    none = "" if keys["file exists"] else " (none)"
    lines += ["", f"API keys (values never shown); keys file {keys['file']}{none}"]
    lines += [f"  unreadable: {keys['problem']}"] if keys["problem"] else []
    from .config import KEY_NAMES

    lines += [f"  {name:<22} {keys[name] or 'not set'}" for name in KEY_NAMES]
    return "\n".join(lines)
