"""How the song estimators train: an MLP head on fixed vectors, or an encoder fine-tuned with a head.

The procedure is kept apart from the models (as SetFit keeps its trainer apart from its
model): each function reads the estimator's settings (``est.batch_size``, ``est.optimizer``...)
and returns what it trained, without setting attributes on it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..encoders import BertEncoder
from ._nn import MLPHead, SongModel, song_batches, train_loop


def train_head(
    est, features, targets, train, valid, *, hidden_size, epochs, learning_rate, patience, seed
):
    """Train an MLP head on fixed song vectors; returns ``(head, history)``."""
    features = torch.as_tensor(features, dtype=torch.float32)
    y = torch.as_tensor(targets)
    device = est._device()
    head = MLPHead(features.shape[1], est._n_outputs, hidden_size, est.dropout)
    head = head.standardize_with(features[train]).to(device)
    loss_fn = est._loss(targets, train, device)
    rng = np.random.default_rng(seed)

    def batches(epoch):
        order = train[rng.permutation(len(train))]
        return [({"x": features[order[i : i + est.batch_size]]}, y[order[i : i + est.batch_size]])
                for i in range(0, len(order), est.batch_size)]

    def evaluate():
        with torch.no_grad():
            return float(loss_fn(head(features[valid].to(device)), y[valid].to(device)))

    history = train_loop(
        head, batches, loss_fn, epochs=epochs, optimizer=est.optimizer, learning_rate=learning_rate,
        weight_decay=est.weight_decay, warmup_ratio=0.0, max_grad_norm=est.max_grad_norm,
        evaluate=evaluate if len(valid) else None, patience=patience,
        device=device, show_progress_bar=est.show_progress_bar, desc="Head",
        checkpoint=est._checkpoint("head", seed, targets, train, features),
    )
    return head, history


def finetune(est, texts, targets, train, valid, seed, *, extra=None, head_hidden=None):
    """Fine-tune an encoder with a head on song batches; returns ``(encoder, head, history)``.

    ``extra`` (n_songs x d) is concatenated to each song's vector before the
    head, always indexed by the same song positions as the texts.
    """
    wrapper = est._base_encoder()
    if (est.epochs or est.lora) and est._given_encoder() is not None:  # never change the caller's encoder
        wrapper = wrapper.copy()
    model, tokenizer = wrapper.model_, wrapper.tokenizer_
    if est.lora:
        model = _add_lora(model, est)
    chunks = wrapper.chunk(texts)
    windows_of = [[] for _ in texts]
    for w, s in enumerate(chunks["song"]):
        windows_of[s].append(w)
    ids = chunks["input_ids"]
    extra_t = None if extra is None else torch.as_tensor(extra, dtype=torch.float32)
    in_dim = wrapper.embedding_dim_ + (0 if extra is None else extra.shape[1])
    head = MLPHead(in_dim, est._n_outputs, head_hidden, est.dropout)
    device = est._device()
    song_model = SongModel(model, head, wrapper.pooling_).to(device)
    y = torch.as_tensor(targets)
    loss_fn = est._loss(targets, train, device)
    rng = np.random.default_rng(seed)
    pad = tokenizer.pad_token_id or 0

    def as_examples(songs, shuffle):
        out = []
        for positions, batch in song_batches(songs, windows_of, ids, est.batch_size, rng if shuffle else None, pad):
            if extra_t is not None:
                batch["extra"] = extra_t[positions]
            out.append((batch, y[positions]))
        return out

    valid_examples = as_examples(valid, shuffle=False)  # the same every epoch: built once

    def evaluate():
        total = 0.0
        with torch.no_grad():
            for batch, target in valid_examples:
                batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
                total += float(loss_fn(song_model(**batch), target.to(device))) * len(target)
        return total / len(valid)

    history = train_loop(
        song_model, lambda epoch: as_examples(train, shuffle=True), loss_fn, epochs=est.epochs,
        optimizer=est.optimizer, learning_rate=est._learning_rate(), weight_decay=est.weight_decay,
        warmup_ratio=est.warmup_ratio, max_grad_norm=est.max_grad_norm,
        evaluate=evaluate if len(valid) else None, patience=est.early_stopping_patience,
        device=device, show_progress_bar=est.show_progress_bar, desc="Fine-tuning",
        checkpoint=est._checkpoint("finetune", seed, targets, train, texts),
    )
    if est.lora:
        model = song_model.encoder.merge_and_unload()
        wrapper = BertEncoder.from_model(model, tokenizer, **wrapper.get_params())
    return wrapper, head, history


def _add_lora(model, est):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=est.lora_r,
        lora_alpha=est.lora_alpha,
        lora_dropout=est.lora_dropout,
        target_modules=list(est.lora_target_modules),
        layers_to_transform=list(est.lora_layers) if est.lora_layers is not None else None,
        bias="none",
    )
    return get_peft_model(model, config)
