"""Audio features as model input."""

import json

import numpy as np
import pandas as pd
import pytest

from musemood import schema
from musemood.datasets import load_demo
from musemood.features import AudioFeatureEncoder


@pytest.fixture(scope="module")
def frame():
    return load_demo(300, random_state=5, label=False)


def test_standardised_one_hot_and_missing_share(frame):
    enc = AudioFeatureEncoder().fit(frame)
    X = enc.transform(frame)
    names = enc.get_feature_names_out()
    assert X.shape == (300, len(names)) and X.dtype == np.float32
    assert np.isfinite(X).all()
    n_cont = len(schema.CONTINUOUS_AUDIO_FEATURES)
    np.testing.assert_allclose(X[:, :n_cont].mean(0), 0, atol=1e-5)
    assert "key=0" in names and "mode=1" in names and "time_signature=4" in names
    key_cols = [i for i, n in enumerate(names) if n.startswith("key=")]
    has_key = frame[schema.KEY].notna().to_numpy()
    assert (X[has_key][:, key_cols].sum(1) == 1).all()
    assert (X[~has_key][:, key_cols].sum(1) == 0).all()
    all_missing = frame[list(schema.AUDIO_FEATURES)].isna().all(axis=1).to_numpy()
    assert (X[all_missing, -1] == 1).all() and (X[~all_missing, -1] < 1).all()


def test_missing_continuous_value_becomes_training_median():
    train = pd.DataFrame({"tempo": [100.0, 120.0, 200.0], "mode": [0.0, 1.0, 1.0]})
    enc = AudioFeatureEncoder(columns=("tempo", "mode"), categorical=("mode",)).fit(train)
    out = enc.transform(pd.DataFrame({"tempo": [np.nan], "mode": [np.nan]}))
    expected = (120 - train["tempo"].mean()) / train["tempo"].std(ddof=0)
    np.testing.assert_allclose(out[0], [expected, 0, 0, 1.0], rtol=1e-6)


def test_unseen_category_is_all_zeros():
    enc = AudioFeatureEncoder(columns=("key",), categorical=("key",)).fit(pd.DataFrame({"key": [0.0, 5.0]}))
    np.testing.assert_array_equal(enc.transform(pd.DataFrame({"key": [7.0]})), [[0, 0, 0]])


def test_json_round_trip(frame):
    enc = AudioFeatureEncoder().fit(frame)
    back = AudioFeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    np.testing.assert_array_equal(back.transform(frame), enc.transform(frame))


def test_missing_columns_error():
    with pytest.raises(KeyError, match="audio_columns=None"):
        AudioFeatureEncoder().fit(pd.DataFrame({"tempo": [1.0]}))


def test_columns_new_data_lacks_are_missing_values_with_one_warning(frame, caplog):
    enc = AudioFeatureEncoder().fit(frame)
    lacking = frame.drop(columns=["tempo", "key"])
    with caplog.at_level("WARNING", logger="musemood.features"):
        got = enc.transform(lacking)
        enc.transform(lacking.head(10))  # the next batch of the same data: no second warning
    warnings = [r.getMessage() for r in caplog.records if "not in the data" in r.getMessage()]
    assert len(warnings) == 1 and "columns ['key', 'tempo'] are not in the data" in warnings[0]
    np.testing.assert_array_equal(got, enc.transform(frame.assign(tempo=np.nan, key=np.nan)))
    assert (got[:, -1] >= 2 / len(schema.AUDIO_FEATURES)).all()  # the missing share counts them


def test_resolve_audio_columns(frame):
    from musemood.features import resolve_audio_columns

    assert resolve_audio_columns(frame) == list(schema.AUDIO_FEATURES)
    assert resolve_audio_columns(pd.DataFrame({"lyrics": ["x"], "tempo": [1.0]})) is None
    assert resolve_audio_columns(frame, ("tempo",)) == ["tempo"]
    assert resolve_audio_columns(frame, None) is None
