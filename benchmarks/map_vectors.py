"""Which song vectors make a map worth exploring: the demo's clusters against what the generator hid.

Run:  .venv/bin/python benchmarks/map_vectors.py [--home DIR]

Reads the demo's corpus and recommender under ``--home`` (default ``$MUSEMOOD_HOME``; run
``musemood demo`` first).  The demo generator gives each song one of 7 themes and one of 4 hidden
moods; the k/ε labels only know happy and sad.  For each kind of map vectors, a SongMap is fitted
with the default sweep and rule ("finest"; the "elbow" rule beside it) and its clusters are scored
by adjusted mutual information (AMI) with the theme, the hidden mood, the 28 theme × mood pairs and
the label.  The peer is the map the demo drew before this choice existed: tBERT's hidden layer with
the audio blocks.  A map that only repeats the label has a high AMI with the label and a low one
with the theme.
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def vectors(home):
    from musemood.datasets import drop_duplicate_songs
    from musemood.encoders import BertEncoder
    from musemood.recommender import Recommender
    from musemood.text import clean_texts

    rec = Recommender.load(home / "recommender")
    corpus = drop_duplicate_songs(pd.read_parquet(home / "demo" / "demo.parquet")).reset_index(drop=True)
    if not (corpus["song_id"].to_numpy() == rec.catalogue_.songs_["song_id"].to_numpy()).all():
        raise SystemExit(f"{home}: the recommender was not fitted on this demo corpus; run `musemood demo` again")
    model = rec.model_
    if not hasattr(model, "embed"):
        raise SystemExit(f"{home}/recommender holds no classifier: run the full `musemood demo`")
    hidden, tuned_text = model.embed(corpus, return_text_vectors=True)
    texts = clean_texts(corpus["lyrics"])
    encoder = BertEncoder(max_length=rec.max_length).encode(texts, batch_size=32)
    join = rec.vectorizer_.transform
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    out = {
        "tBERT hidden layer ⊕ audio (the map before)": join(hidden, corpus),
        "tBERT's fine-tuned encoder ⊕ audio": join(tuned_text, corpus),
        "MiniLM ⊕ tBERT hidden layer ⊕ audio": join(np.hstack([unit(encoder), unit(hidden)]), corpus),
        "MiniLM ⊕ audio (the default)": join(encoder, corpus),
    }
    return out, corpus


def main():
    from sklearn.metrics import adjusted_mutual_info_score as ami

    from musemood.clustering import SongMap

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=os.environ.get("MUSEMOOD_HOME", str(Path.home() / ".musemood")))
    args = parser.parse_args()
    started = time.perf_counter()
    kinds, corpus = vectors(Path(args.home))
    truth = {"theme": corpus["theme"], "hidden mood": corpus["latent_mood"],
             "theme × mood": corpus["theme"] + "/" + corpus["latent_mood"], "label": corpus["label"].fillna("none")}
    rows = []
    for name, X in kinds.items():
        for rule in ("finest", "elbow"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                song_map = SongMap(k_rule=rule).fit(X)
            silhouette = dict(zip(song_map.sweep_["k"], song_map.sweep_["silhouette"]))[song_map.n_clusters_]
            row = {"map vectors": name, "rule": rule, "k": song_map.n_clusters_, "silhouette": silhouette}
            row.update({f"AMI {t}": ami(v, song_map.labels_) for t, v in truth.items()})
            rows.append(row)
    table = pd.DataFrame(rows)
    print(f"{len(corpus):,} demo songs; {time.perf_counter() - started:.0f} s\n")
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    peer = table[(table["rule"] == "finest")].set_index("map vectors")["AMI theme × mood"]
    print(f"\nAMI with theme × mood, default / the map before: "
          f"{peer.iloc[-1]:.3f} / {peer.iloc[0]:.3f} = {peer.iloc[-1] / peer.iloc[0]:.1f}x")


if __name__ == "__main__":
    main()
