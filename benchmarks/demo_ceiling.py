"""How well can any text model do on the demo corpus?  A ceiling from the generator itself.

Run:  .venv/bin/python benchmarks/demo_ceiling.py [--n-songs 2000] [--seed 0]

The demo corpus is generated (musemood/datasets/_demo.py): each song has a latent mood; its lyrics
carry that mood in a per-song share of lines drawn from the generator's phrase pools (plus a few
lines of another mood and neutral lines), and its label comes from crowd tags, which disagree with the
latent mood for 12% of songs.  Two classifiers that no trained model can beat on average:

- ``line-pool``: knows the generator's phrase pools and counts the lines of each mood in a lyric
  (happy vs sad lines; ties broken by happy+energetic vs sad+calm lines, then "happy"); no training;
- ``latent mood``: knows each song's latent mood (happy/energetic -> happy, sad/calm -> sad): what the
  label noise alone leaves.

They are scored on every labelled happy/sad song, and on the fixed test split of the learning-curve
benchmark's ``demo`` task (stratified 20%, seed 0), where the trained models are measured.
"""

import argparse

import numpy as np

TO_LABEL = {"happy": "happy", "energetic": "happy", "sad": "sad", "calm": "sad"}


def mood_pools():
    """Every lyric line the generator can write for each mood, lower-cased."""
    from musemood.datasets import _phrases as P

    pools = {mood: set() for mood in P.MOODS}
    for (_, mood), lines in P.THEMED.items():
        pools[mood].update(line.lower() for line in lines)
    for mood, templates in P.TEMPLATES.items():
        for nouns in P.THEME_NOUNS.values():
            pools[mood].update(t.format(noun=n).lower() for t in templates for n in nouns)
    return pools


def line_pool_predict(lyrics, pools):
    """happy/sad from the counts of each mood's lines in each lyric."""
    out = []
    for text in lyrics:
        lines = [line.strip().lower() for line in text.split("\n")]
        c = {mood: sum(line in pool for line in lines) for mood, pool in pools.items()}
        direct = c["happy"] - c["sad"]
        side = c["happy"] + c["energetic"] - c["sad"] - c["calm"]
        out.append("happy" if direct > 0 or (direct == 0 and side >= 0) else "sad")
    return np.asarray(out)


def main():
    from sklearn.model_selection import train_test_split

    from musemood.datasets import _demo, load_demo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-songs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    df = load_demo(args.n_songs, random_state=args.seed)
    df = df[df["label"].isin(["happy", "sad"])]
    _, test = train_test_split(df, test_size=0.2, stratify=df["label"], random_state=0)
    pools = mood_pools()
    rows = []
    for name, part in (("all labelled songs", df), ("learning-curve demo test", test)):
        line_pool = line_pool_predict(part["lyrics"], pools)
        latent = part[_demo.LATENT_MOOD].map(TO_LABEL).to_numpy()
        majority = part["label"].value_counts(normalize=True).max()
        rows.append({"songs": name, "n": len(part), "majority": majority,
                     "line-pool": float(np.mean(line_pool == part["label"].to_numpy())),
                     "latent mood": float(np.mean(latent == part["label"].to_numpy()))})
    print(f"\nDemo corpus ({args.n_songs:,} songs, seed {args.seed}): accuracy of generator-aware classifiers\n")
    print("| songs | n | majority class | line-pool | latent mood |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['songs']} | {r['n']} | {r['majority']:.3f} | {r['line-pool']:.3f} | {r['latent mood']:.3f} |")


if __name__ == "__main__":
    main()
