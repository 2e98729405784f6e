"""Audio features from three interchangeable sources.

Every source has a ``name``, a ``batch_size`` and ``get(songs)``, which returns one
``(features or None, key, raw)`` per song (``key`` and ``raw`` go to the scrape store):

- :class:`SpotifyAudioFeatures`: Spotify's ``/v1/audio-features`` through spotipy, 100 ids per
  request.  **Spotify closed this endpoint to apps registered after 2024-11-27**: it answers
  403, which this source turns into one clear :class:`~musemood.sources.http.FatalSourceError`
  so the job moves on to the next source.
- :class:`FeatureTable`: a CSV or Parquet table of precomputed features keyed by Spotify id,
  such as the public Kaggle dumps of Spotify's features (columns ``id`` or ``track_id``).
- :class:`LibrosaFeatures`: features computed from local audio files with librosa.  Tempo,
  key and mode are estimated as Spotify defines them; loudness, energy, danceability and
  acousticness are **approximations** (see the class); speechiness, instrumentalness,
  liveness, valence and time signature are left missing.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np

from .. import schema
from .._validation import check_fields_match_header, header_separator, refuse_not_utf8, usecols_for
from .http import (CredentialError, FatalSourceError, MinInterval, SourceError, backoff_delay, credential,
                   redact_logs, session)

logger = logging.getLogger(__name__)

SPOTIFY_API = "https://api.spotify.com/v1/"
SPOTIFY_TOKEN_URL = "https://accounts.spotify.com/api/token"
SPOTIFY_FORBIDDEN = (
    "Spotify answered 403 Forbidden to audio-features: Spotify closed that endpoint to apps registered "
    "after 2024-11-27, so these keys cannot get audio features. Use another audio-feature source: "
    "a table of precomputed features (--features-table FILE, e.g. a Kaggle dump keyed by Spotify id) "
    "or your own audio files (--audio-dir DIR, needs `pip install musemood[audio]`)."
)


class SpotifyAudioFeatures:
    """Spotify's audio features for songs with a ``spotify_id``, through spotipy.

    Parameters
    ----------
    client_id, client_secret : str, optional
        Your app's credentials; else ``SPOTIPY_CLIENT_ID`` / ``SPOTIPY_CLIENT_SECRET``.
    api_url, token_url : str
        Spotify's endpoints (point them at a local fake in tests).
    timeout : float, default=10
        Seconds per request; timed-out requests are retried.
    retries, backoff : int, float
        Retries of 429 (honouring Retry-After), 5xx, timeouts and malformed answers.
    min_interval : float, default=0.1
        Seconds between requests.
    max_retry_after : float, optional
        The longest ``Retry-After`` waited for, in seconds (default ``MUSEMOOD_MAX_RETRY_AFTER``
        or 120); a longer one is logged and cut to this.
    """

    name = "spotify"
    batch_size = 100

    def __init__(self, client_id=None, client_secret=None, *, api_url=SPOTIFY_API, token_url=SPOTIFY_TOKEN_URL,
                 timeout=10.0, retries=5, backoff=0.5, min_interval=0.1, max_retry_after=None):
        import spotipy
        from spotipy.cache_handler import MemoryCacheHandler
        from spotipy.oauth2 import SpotifyClientCredentials

        client_id = credential(client_id, "SPOTIPY_CLIENT_ID", "The Spotify audio-feature source")
        client_secret = credential(client_secret, "SPOTIPY_CLIENT_SECRET", "The Spotify audio-feature source")
        redact_logs(["spotipy.client", "spotipy.oauth2"], [client_id, client_secret])
        self.retries, self.backoff = retries, backoff
        self._interval = MinInterval(min_interval)
        # MemoryCacheHandler: spotipy would otherwise write the token to a .cache file in the
        # working directory, where it could end up committed.
        auth = SpotifyClientCredentials(client_id, client_secret, requests_timeout=timeout,
                                        requests_session=session("Spotify", retries=retries, backoff=backoff,
                                                                 methods=("POST",), retry_after_cap=max_retry_after),
                                        cache_handler=MemoryCacheHandler())
        auth.OAUTH_TOKEN_URL = token_url
        self.client = spotipy.Spotify(auth_manager=auth, requests_timeout=timeout,
                                      requests_session=session("Spotify", retries=retries, backoff=backoff,
                                                               retry_after_cap=max_retry_after))
        self.client.prefix = api_url.rstrip("/") + "/"

    def get(self, songs):
        ids = [s.get("spotify_id") for s in songs]
        wanted = sorted({i for i in ids if i})
        found = {}
        for start in range(0, len(wanted), self.batch_size):
            batch = wanted[start:start + self.batch_size]
            for track_id, features in zip(batch, self._fetch(batch)):
                found[track_id] = _spotify_features(features)
        return [(found.get(i), i or "", json.dumps(found.get(i))) for i in ids]

    def _fetch(self, batch):
        """The answers for ``batch``.  HTTP errors were retried by the session already; a
        malformed body is retried here."""
        import requests
        from spotipy.exceptions import SpotifyException, SpotifyOauthError

        for attempt in range(self.retries + 1):
            self._interval.wait()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # spotipy flags the endpoint
                    result = self.client.audio_features(batch)
                if isinstance(result, list) and len(result) == len(batch):
                    return result
                reason = "a malformed answer"
            except SpotifyOauthError as exc:
                raise _token_error(exc) from None
            except SpotifyException as exc:
                raise _api_error(exc.http_status) from None
            except (TypeError, AttributeError, KeyError) as exc:
                # spotipy reads an error body as {"error": {"message": ...}}; another shape (or a
                # body that is not JSON) breaks it before it tells the status: take it from the cause.
                status = _http_status(exc)
                if status is not None:
                    raise _api_error(status) from None
                reason = "a malformed answer"
            except ValueError:  # a body that is not JSON (the token's, say): malformed, asked again
                reason = "a malformed answer"
            except requests.RequestException as exc:
                raise SourceError(f"Spotify audio-features: no answer after {self.retries} retries "
                                  f"({type(exc).__name__}); try again later") from None
            if attempt == self.retries:
                raise SourceError(f"Spotify audio-features: {reason} after {self.retries} retries; try again later")
            wait = backoff_delay(attempt, self.backoff, 60.0)
            logger.info("Spotify audio-features: %s; retrying in %.1f s", reason, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")


def _http_status(exc):
    """The HTTP status of the ``requests`` error an exception was raised while handling, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        response = getattr(exc, "response", None)
        if getattr(response, "status_code", None) is not None:
            return response.status_code
        exc = exc.__cause__ or exc.__context__
    return None


def _api_error(status):
    if status == 403:
        return FatalSourceError(SPOTIFY_FORBIDDEN)
    if status == 401:
        return CredentialError("Spotify answered 401 Unauthorized to audio-features; check SPOTIPY_CLIENT_ID and "
                               "SPOTIPY_CLIENT_SECRET")
    if status in (429, 500, 502, 503, 504):
        return SourceError(f"Spotify audio-features answered HTTP {status} after retries; try again later")
    return SourceError(f"Spotify answered HTTP {status} to audio-features")


def _token_error(exc):
    """Spotify's token endpoint failed: refused credentials (400/401) or a server error."""
    status = _http_status(exc)
    if status in (400, 401) or (status is None and exc.error in ("invalid_client", "unauthorized_client")):
        return CredentialError(f"Spotify refused the client credentials ({exc.error}); check SPOTIPY_CLIENT_ID "
                               "and SPOTIPY_CLIENT_SECRET")
    what = f"HTTP {status}" if status else f"an unusable answer ({exc.error})"
    return SourceError(f"Spotify's token endpoint answered {what} after retries; Spotify may be down, try again "
                       "later")


def _spotify_features(features):
    if not features:
        return None
    return {f: (None if features.get(f) is None else float(features[f])) for f in schema.AUDIO_FEATURES}


class FeatureTable:
    """Precomputed audio features from a CSV or Parquet file, keyed by Spotify id.

    Parameters
    ----------
    path : str or Path
        The table.  It needs an id column and any of the 12 feature columns.
    id_column : str, optional
        The Spotify id column; by default the first of ``spotify_id``, ``track_id``, ``id``.

    Only the id and feature columns are read, so a table of a million tracks fits in a few
    hundred MB.  Rows with a repeated id keep the first.
    """

    name = "table"
    batch_size = 1000

    def __init__(self, path, *, id_column=None):
        import pandas as pd

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no feature table at {path}")
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet", ".pq", ".tsv"):
            raise ValueError(f"{path}: use a .csv, .tsv or .parquet feature table, not {suffix!r}")
        sep = header_separator(path, "\t" if suffix == ".tsv" else ",") if suffix in (".csv", ".tsv") else ","
        try:
            if suffix in (".parquet", ".pq"):
                import pyarrow.parquet as pq

                columns = pq.read_schema(path).names
            else:
                columns = pd.read_csv(path, nrows=0, sep=sep).columns.tolist()
        except Exception as exc:  # the csv/parquet readers raise many types
            refuse_not_utf8(exc, path)
            raise ValueError(f"{path} could not be read ({type(exc).__name__}: {exc}); is it truncated?") from exc
        if id_column is None:
            id_column = next((c for c in ("spotify_id", "track_id", "id") if c in columns), None)
        if id_column not in columns:
            raise ValueError(f"{path} has no Spotify id column (looked for {id_column or 'spotify_id, track_id, id'}); "
                             f"its columns are {columns}: pass id_column=")
        features = [f for f in schema.AUDIO_FEATURES if f in columns]
        if not features:
            raise ValueError(f"{path} has none of the audio-feature columns {list(schema.AUDIO_FEATURES)}")
        try:
            if suffix in (".parquet", ".pq"):
                table = pd.read_parquet(path, columns=[id_column, *features])
            else:
                table = pd.read_csv(path, usecols=usecols_for(columns, [id_column, *features]), sep=sep,
                                    dtype={id_column: str}, decimal="," if sep == ";" else ".")
        except Exception as exc:  # the csv/parquet readers raise many types
            refuse_not_utf8(exc, path)
            raise ValueError(f"{path} could not be read ({type(exc).__name__}: {exc}); is it truncated?") from exc
        if suffix not in (".parquet", ".pq"):
            check_fields_match_header(table, path)
        table = table.drop_duplicates(id_column).set_index(id_column)
        self.path, self.features = path, features
        self._table = table.astype(float)

    def get(self, songs):
        out = []
        for song in songs:
            key = song.get("spotify_id") or ""
            if key in self._table.index:
                row = self._table.loc[key]
                features = {f: (float(row[f]) if f in row.index and not np.isnan(row[f]) else None)
                            for f in schema.AUDIO_FEATURES}
            else:
                features = None
            out.append((features, key, json.dumps(features)))
        return out


# Krumhansl-Kessler key profiles (probe-tone ratings), C major and C minor.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
AUDIO_EXTENSIONS = (".mp3", ".flac", ".wav", ".ogg", ".m4a", ".opus", ".aiff")


class LibrosaFeatures:
    """Audio features computed from local audio files with librosa.

    A song's file is its ``audio_path`` field, else the first file in ``audio_dir`` named after
    its ``song_id`` or ``spotify_id`` with an audio extension.

    What is computed, and how close it is to Spotify's definition:

    - ``tempo``: librosa's beat tracker, in BPM (same quantity; octave errors happen).
    - ``key``, ``mode``: the Krumhansl-Kessler key profile best correlated with the mean
      chroma (pitch class 0 = C; mode 1 = major) (same quantity, a different estimator).
    - ``loudness``: mean RMS level in dBFS. **Approximation**: Spotify averages a weighted
      loudness; ours has no K-weighting and reads 1-3 dB apart on typical mixes.
    - ``energy``: **approximation**: loudness mapped from [-30, 0] dB to [0, 1], averaged with
      the normalised onset rate (Spotify: "perceptual intensity and activity").
    - ``danceability``: **approximation**: the pulse clarity, i.e. the autocorrelation of the
      onset envelope at the beat period, scaled to [0, 1].
    - ``acousticness``: **approximation**: 1 minus the mean spectral flatness scaled to [0, 1]
      (noisy, distorted, electronic timbres are flatter).
    - ``speechiness``, ``instrumentalness``, ``liveness``, ``valence``, ``time_signature``:
      not computed (left missing; the models impute them).

    Parameters
    ----------
    audio_dir : str or Path, optional
        Where to look for files named after the song.
    sr : int, default=22050
        Sample rate the audio is resampled to.
    duration : float, optional
        Analyse at most this many seconds (from ``offset``).
    offset : float, default=0
        Seconds to skip at the start.
    """

    name = "librosa"
    batch_size = 1
    APPROXIMATE = ("loudness", "energy", "danceability", "acousticness")
    MISSING = ("speechiness", "instrumentalness", "liveness", "valence", "time_signature")

    def __init__(self, audio_dir=None, *, sr=22050, duration=None, offset=0.0):
        try:
            import librosa  # noqa: F401
        except ImportError:
            raise ImportError("features from audio files need librosa: pip install 'musemood[audio]'") from None
        self.audio_dir = None if audio_dir is None else Path(audio_dir)
        if self.audio_dir is not None and not self.audio_dir.is_dir():
            raise FileNotFoundError(f"no audio folder at {self.audio_dir}")
        self.sr, self.duration, self.offset = sr, duration, offset

    def find(self, song):
        if song.get("audio_path"):
            return Path(song["audio_path"])
        if self.audio_dir is None:
            return None
        for stem in (song.get("song_id"), song.get("spotify_id")):
            for ext in AUDIO_EXTENSIONS:
                if stem and (self.audio_dir / f"{stem}{ext}").exists():
                    return self.audio_dir / f"{stem}{ext}"
        return None

    def get(self, songs):
        out = []
        for song in songs:
            path = self.find(song)
            features = None if path is None else self.compute(path)
            out.append((features, str(path or ""), json.dumps(features)))
        return out

    def compute(self, path):
        """The features of one audio file (see the class for what each one means)."""
        import librosa

        path = Path(path)
        try:
            y, sr = librosa.load(path, sr=self.sr, mono=True, offset=self.offset, duration=self.duration)
        except Exception as exc:  # audioread/soundfile raise many types
            raise SourceError(f"{path} could not be decoded as audio ({type(exc).__name__}: {exc})") from None
        if y.size < sr:
            raise SourceError(f"{path} holds less than a second of audio")
        onset = librosa.onset.onset_strength(y=y, sr=sr)
        tempo, beats = librosa.beat.beat_track(onset_envelope=onset, sr=sr)
        tempo = float(np.atleast_1d(tempo)[0])
        chroma = librosa.feature.chroma_cqt(y=y, sr=sr).mean(axis=1)
        key, mode = estimate_key(chroma)
        rms = librosa.feature.rms(y=y)[0]
        loudness = float(20 * np.log10(max(float(np.sqrt(np.mean(rms ** 2))), 1e-6)))
        onsets_per_s = len(librosa.onset.onset_detect(onset_envelope=onset, sr=sr)) / (y.size / sr)
        energy = 0.5 * _clip01((loudness + 30) / 30) + 0.5 * _clip01(onsets_per_s / 8)
        hop_s = 512 / sr
        lag = int(round(60.0 / tempo / hop_s)) if tempo > 0 else 0
        danceability = 0.0
        if 0 < lag < len(onset):
            centred = onset - onset.mean()
            denominator = float(np.dot(centred, centred)) or 1.0
            danceability = _clip01(float(np.dot(centred[:-lag], centred[lag:])) / denominator)
        flatness = float(librosa.feature.spectral_flatness(y=y).mean())
        acousticness = _clip01(1 - flatness / 0.3)
        features = dict.fromkeys(schema.AUDIO_FEATURES)
        features.update(tempo=tempo, key=float(key), mode=float(mode), loudness=loudness, energy=energy,
                        danceability=danceability, acousticness=acousticness)
        return features


def estimate_key(chroma):
    """``(key, mode)`` of a 12-bin mean chroma by the Krumhansl-Kessler profiles."""
    chroma = np.asarray(chroma, dtype=float)
    best = (-np.inf, 0, 1)
    for mode, profile in ((1, _MAJOR), (0, _MINOR)):
        for key in range(12):
            r = np.corrcoef(chroma, np.roll(profile, key))[0, 1]
            if r > best[0]:
                best = (r, key, mode)
    return best[1], best[2]


def _clip01(x):
    return float(min(1.0, max(0.0, x)))
