"""Keep a recommender up to date with a catalogue that grows: embed only what is new, then rebuild.

Run:  python examples/growing_catalogue.py songs.parquet --vectors vectors/ --recommender my-recommender/
      [--model NAME_OR_FOLDER]

Run it again whenever ``songs.parquet`` (or a folder of Parquet files) has changed. Each run embeds
only the songs that no earlier run embedded with the same lyrics (new songs, and songs whose lyrics
were corrected) into the next numbered folder, ``vectors/0001``, ``vectors/0002``... (``musemood embed
--skip-vectors`` with every earlier folder), then builds the recommender on all the folders, the later
ones winning, and saves it over ``--recommender``. A run that was stopped is resumed into its folder.
A server on that folder (``musemood serve --recommender my-recommender/``) takes the new recommender
up without stopping when it is sent SIGHUP (``kill -HUP <pid>``).

The same steps on the command line:

    musemood embed songs.parquet --out vectors/0002 --skip-vectors vectors/0001
    musemood map --data songs.parquet --vectors vectors/0001 vectors/0002 --recommender my-recommender/
"""

import argparse
import shutil
from pathlib import Path

from musemood.datasets import load_dataset
from musemood.embed import embed_dataset, load_vectors
from musemood.encoders import BertEncoder
from musemood.recommender import Recommender


def finished(folder):
    """Whether an earlier run wrote every part of ``folder``."""
    try:
        load_vectors(folder, ids_only=True)
    except ValueError:
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="the catalogue: a Parquet file or a folder of them (title, artist, lyrics, "
                        "song_id)")
    parser.add_argument("--vectors", required=True, help="the folder of the numbered vectors folders")
    parser.add_argument("--recommender", required=True, help="where the recommender is saved")
    parser.add_argument("--model", help="an encoder name or folder, or a saved musemood model (default: the "
                        "packaged all-MiniLM-L6-v2); the same on every run")
    args = parser.parse_args()

    model = args.model or BertEncoder()  # the model of the vectors answers free-text queries too
    root = Path(args.vectors)
    folders = sorted(p for p in root.glob("[0-9]" * 4) if p.is_dir())
    if folders and not finished(folders[-1]):  # a run that was stopped: finish it
        out, earlier = folders[-1], folders[:-1]
    else:
        out, earlier = root / f"{len(folders) + 1:04d}", folders
    result = embed_dataset(args.data, out, model, skip=earlier or None)
    print(f"{out}: {result.songs:,} songs embedded" + (f" ({result.changed:,} of them because their lyrics changed), "
          f"{result.left_out:,} already in {len(earlier)} earlier folder(s)" if earlier else ""))
    if result.songs == 0 and earlier:
        shutil.rmtree(out)  # nothing new: no empty folder to carry along
        if Path(args.recommender).exists():
            print(f"nothing changed; {args.recommender} is up to date")
            return
    else:
        earlier = [*earlier, out]
    songs = load_dataset(args.data)
    rec = Recommender(show_progress_bar=True).fit(songs, model, vectors=earlier)
    rec.save(args.recommender)
    print(f"{len(songs):,} songs from {len(earlier)} vectors folder(s); recommender saved to {args.recommender} "
          "(send SIGHUP to a server serving it)")


if __name__ == "__main__":
    main()
