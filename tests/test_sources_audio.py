"""Audio-feature sources: spotipy against a local Spotify fake, feature tables, librosa on synthetic audio."""

import base64
import logging

import numpy as np
import pandas as pd
import pytest

from musemood import schema
from musemood.sources.audio import FeatureTable, LibrosaFeatures, SpotifyAudioFeatures, estimate_key
from musemood.sources.http import FatalSourceError

from fakes.server import FakeService
from fakes.services import SpotifyState, catalogue, spotify_routes

SONGS = catalogue()
ID, SECRET = "spotify-client-id-123", "spotify-client-secret-456"


@pytest.fixture
def spotify():
    state = SpotifyState()
    with FakeService(spotify_routes(SONGS, state)) as fake:
        fake.state = state
        yield fake


def source(fake, **kw):
    return SpotifyAudioFeatures(ID, SECRET, api_url=fake.url + "/v1/", token_url=fake.url + "/api/token",
                                min_interval=0, backoff=0.01, timeout=2, **kw)


def test_spotify_features_in_batches_of_100(spotify):
    songs = [{"song_id": f"s{i}", "spotify_id": SONGS[i % len(SONGS)]["spotify_id"] if i < 20 else f"x{i:021d}"}
             for i in range(150)]
    results = source(spotify).get(songs)
    assert results[0][0] == {f: float(SONGS[0]["audio"][f]) for f in schema.AUDIO_FEATURES}
    assert results[5][0] is None  # Spotify has no features for that track: null in the list
    assert results[140][0] is None and results[0][1] == SONGS[0]["spotify_id"]
    calls = [r for r in spotify.requests if r["path"].startswith("/v1/audio-features")]
    assert [len(r["query"]["ids"].split(",")) for r in calls] == [100, 43]  # 13 + 130 distinct ids
    assert calls[0]["headers"]["Authorization"] == "Bearer fake-access-token"


def test_spotify_retries_429_5xx_timeouts_and_malformed_json(spotify):
    s = source(spotify)
    s.get(SONGS[:1])  # fetch the token first
    spotify.faults += [("status", 429, {"Retry-After": "1"}), ("status", 502, {}), ("slow", 3), ("malformed",)]
    results = s.get(SONGS[:2])
    assert results[1][0]["tempo"] == pytest.approx(SONGS[1]["audio"]["tempo"])
    assert len([r for r in spotify.requests if r["path"].startswith("/v1/")]) == 1 + 5


def test_spotify_403_says_what_to_do(spotify):
    spotify.state.forbid_audio_features = True
    with pytest.raises(FatalSourceError, match="2024-11-27.*--features-table.*--audio-dir"):
        source(spotify).get(SONGS[:3])


def test_spotify_credentials_from_environment_and_never_logged(spotify, monkeypatch, caplog):
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET", raising=False)
    with pytest.raises(ValueError, match="SPOTIPY_CLIENT_SECRET"):
        SpotifyAudioFeatures(ID)
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", ID)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", SECRET)
    caplog.set_level(logging.DEBUG)
    s = SpotifyAudioFeatures(api_url=spotify.url + "/v1/", token_url=spotify.url + "/api/token", min_interval=0)
    s.get(SONGS[:2])
    basic = base64.b64encode(f"{ID}:{SECRET}".encode()).decode()
    assert "Sending POST" in caplog.text  # spotipy did log its requests...
    assert SECRET not in caplog.text and basic not in caplog.text and "fake-access-token" not in caplog.text


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_feature_table_by_spotify_id(tmp_path, suffix):
    rows = [{"track_id": s["spotify_id"], "name": s["title"], **s["audio"]} for s in SONGS[:5]]
    rows.append(dict(rows[0], tempo=1.0))  # a repeated id keeps the first row
    path = tmp_path / f"features{suffix}"
    frame = pd.DataFrame(rows).drop(columns=["valence"])
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    table = FeatureTable(path)
    results = table.get(SONGS[:6])
    assert results[0][0]["tempo"] == pytest.approx(SONGS[0]["audio"]["tempo"])
    assert results[0][0]["valence"] is None and results[5][0] is None


def test_feature_table_errors(tmp_path):
    (tmp_path / "t.csv").write_text("name,tempo\nx,120\n")
    with pytest.raises(ValueError, match="no Spotify id column.*id_column="):
        FeatureTable(tmp_path / "t.csv")
    (tmp_path / "t.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ValueError, match="could not be read"):
        FeatureTable(tmp_path / "t.parquet")
    with pytest.raises(FileNotFoundError):
        FeatureTable(tmp_path / "missing.csv")
    # an unquoted name with a comma: pandas took the extra field for an index, every feature shifted by one
    indexed = pd.DataFrame({"id": ["abc"], "tempo": [120.0]}, index=pd.Index(["row1"], name="mine"))
    indexed.to_parquet(tmp_path / "indexed.parquet")  # a Parquet table's own index is no shifted CSV
    assert FeatureTable(tmp_path / "indexed.parquet").get([{"spotify_id": "abc"}])[0][0]["tempo"] == 120.0
    # a spreadsheet's "CSV": separated by semicolons, decimal commas or points
    (tmp_path / "eu.csv").write_text("id;tempo;valence\nabc;120,5;0.25\n")
    features = FeatureTable(tmp_path / "eu.csv").get([{"spotify_id": "abc"}])[0][0]
    assert (features["tempo"], features["valence"]) == (120.5, 0.25)
    (tmp_path / "latin.csv").write_bytes("id,name,tempo\nab\u00e9,Caf\u00e9,120\n".encode("cp1252"))
    with pytest.raises(ValueError, match="latin.csv, line 2 \\(byte 16\\): b'\\\\xe9' is not UTF-8.*reads as 'é'"):
        FeatureTable(tmp_path / "latin.csv")  # (a column it does not read, such as the name, is not decoded)
    for header in ("id,name,tempo,valence", "id,tempo,valence"):  # every column read, or some
        (tmp_path / "shifted.csv").write_text(f"{header}\nabc,120,0.5,0.7,0.9\n")
        with pytest.raises(ValueError, match="shifted.csv: its rows hold more fields than its header names"):
            FeatureTable(tmp_path / "shifted.csv")


def _chord_clicks(path, bpm=120.0, seconds=12.0, sr=22050):
    """An A major triad (A3 C#4 E4) struck on every beat at ``bpm``, as a WAV file."""
    import soundfile

    t = np.arange(int(seconds * sr)) / sr
    beat = 60.0 / bpm
    envelope = np.exp(-8 * (t % beat))
    tone = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63))
    y = 0.3 * envelope * tone
    soundfile.write(path, y.astype(np.float32), sr)
    return y


def test_librosa_features_on_synthetic_audio(tmp_path):
    pytest.importorskip("librosa")
    _chord_clicks(tmp_path / "w000.wav")
    source = LibrosaFeatures(tmp_path)
    (features, key, _), = source.get([{"song_id": "w000"}])
    assert key.endswith("w000.wav")
    assert features["tempo"] == pytest.approx(120, rel=0.05)
    assert (features["key"], features["mode"]) == (9.0, 1.0)  # A major
    assert -30 < features["loudness"] < 0
    assert all(0 <= features[f] <= 1 for f in ("energy", "danceability", "acousticness"))
    assert all(features[f] is None for f in LibrosaFeatures.MISSING)
    assert source.get([{"song_id": "nofile"}])[0][0] is None


def test_estimate_key_profiles():
    c_minor = np.zeros(12)
    c_minor[[0, 3, 7]] = 1
    assert estimate_key(c_minor) == (0, 0)
    assert estimate_key(np.roll(c_minor, 2)) == (2, 0)
