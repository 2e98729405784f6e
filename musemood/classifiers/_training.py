"""How the song estimators train: an MLP head on fixed vectors, or an encoder fine-tuned with a head.

The procedure is kept apart from the models (as SetFit keeps its trainer apart from its
model): each function reads the estimator's settings (``est.batch_size``, ``est.optimizer``...)
and returns what it trained, without setting attributes on it.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from ..encoders import BertEncoder
from ._nn import MLPHead, SongModel, song_batches, train_loop


def train_head(
    est, features, targets, train, valid, *, hidden_size, epochs, learning_rate, patience, seed
):
    """Train an MLP head on fixed song vectors; returns ``(head, history)``.

    The head keeps the epoch of the lowest validation loss, except for a classifier with
    ``class_weight="balanced"``: its validation loss is weighted too, so a few songs of the rare
    classes in a small validation split decide it, and it bottoms out early while the model
    still gets better at choosing the class.  That head keeps the epoch of the best validation
    accuracy, the loss breaking ties (simple BERT on seven GoEmotions classes: 0.36-0.44
    accuracy by the loss, 0.43-0.50 by the accuracy).  Without class weights the accuracy rule
    was no better (joy/sadness) or worse (the demo's split: 0.710 against 0.752); see
    ``benchmarks/head_epochs.py`` and docs/models.md.
    """
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

    def evaluate():  # with balanced class weights: the epoch of the best validation accuracy, see above
        with torch.no_grad():
            out = head(features[valid].to(device))
            loss = float(loss_fn(out, y[valid].to(device)))
        if est.objective != "classification" or est.class_weight != "balanced":
            return loss
        return {"valid_loss": loss, "valid_accuracy": float((out.argmax(1).cpu() == y[valid]).float().mean())}

    history = train_loop(
        head, batches, loss_fn, epochs=epochs, optimizer=est.optimizer, learning_rate=learning_rate,
        weight_decay=est.weight_decay, warmup_ratio=0.0, max_grad_norm=est.max_grad_norm,
        evaluate=evaluate if len(valid) else None, patience=patience,
        device=device, show_progress_bar=est.show_progress_bar, desc="Head",
        checkpoint=est._checkpoint("head", seed, targets, train, features),
    )
    return head, history


def finetune(est, texts, targets, train, valid, seed, *, extra=None, head_hidden=None, hold_out=False):
    """Fine-tune an encoder with a head on song batches; returns ``(encoder, head, history)``.

    A validation split of fewer than ``est.min_validation_songs`` songs is not used: the songs
    join the training ones and every epoch runs, the last kept.  With ``hold_out`` they stay out of
    training all the same (no early stopping either): for a second stage that stops early on them,
    which must not see songs the encoder trained on.  On the learning curve's real
    texts (joy/sadness, seven emotions, Poem Sentiment; 50 to 500 texts, seeds 0 and 1) fine-tuning
    without its 5 to 50 validation texts scored better in 19 of 24 draws and worse in 2 (joy/sadness
    at 200: 0.825 -> 0.872 mean; seven classes at 50: 0.265 -> 0.456); see docs/models.md.

    ``extra`` (n_songs x d) is concatenated to each song's vector before the
    head, always indexed by the same song positions as the texts.
    """
    if 0 < len(valid) < (est.min_validation_songs or 0):  # too few songs to choose an epoch by: train on all
        train, valid = (train if hold_out else np.sort(np.concatenate([train, valid]))), valid[:0]
    wrapper, model, windows_of, ids = _trainable_encoder(est, texts, changes=bool(est.epochs or est.lora))
    tokenizer = wrapper.tokenizer_
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

    epochs = epochs_for_steps(est.epochs, len(train), est.batch_size, est.min_steps)
    history = train_loop(
        song_model, lambda epoch: as_examples(train, shuffle=True), loss_fn, epochs=epochs,
        optimizer=est.optimizer, learning_rate=est._learning_rate(), weight_decay=est.weight_decay,
        warmup_ratio=est.warmup_ratio, max_grad_norm=est.max_grad_norm,
        evaluate=evaluate if len(valid) else None, patience=est.early_stopping_patience,
        device=device, show_progress_bar=est.show_progress_bar, desc="Fine-tuning",
        checkpoint=est._checkpoint("finetune", seed, targets, train, texts),
    )
    return _merged(est, wrapper, song_model), head, history


def contrastive(est, texts, targets, train, seed):
    """Contrastive fine-tuning of an encoder on the labels (SetFit's first step); ``(encoder, history)``.

    Each batch of training songs gives every pair of its songs: the cosine of two song vectors
    is pulled towards 1 for songs of the same class and towards 0 for songs of different
    classes (SetFit's ``CosineSimilarityLoss``, over all the pairs in the batch rather than
    sampled pairs: each song is encoded once per epoch).  No head is trained here.
    """
    wrapper, model, windows_of, ids = _trainable_encoder(est, texts, changes=True)
    device = est._device()
    song_model = SongModel(model, nn.Identity(), wrapper.pooling_).to(device)
    y = torch.as_tensor(targets)
    rng = np.random.default_rng(seed)
    pad = wrapper.tokenizer_.pad_token_id or 0
    size = est.batch_size

    def batches(epoch):
        return [(batch, y[positions]) for positions, batch in
                song_batches(train, windows_of, ids, size, rng, pad) if len(positions) > 1]

    epochs = epochs_for_steps(est.contrastive_epochs, len(train), size, est.min_steps)
    history = train_loop(
        song_model, batches, pair_loss, epochs=epochs, optimizer=est.optimizer,
        learning_rate=est.contrastive_learning_rate, weight_decay=est.weight_decay,
        warmup_ratio=0.1, max_grad_norm=est.max_grad_norm, device=device,
        show_progress_bar=est.show_progress_bar, desc="Contrastive",
        checkpoint=est._checkpoint("contrastive", seed, targets, train, texts),
    )
    return _merged(est, wrapper, song_model), history


def pair_loss(vectors, labels):
    """Mean squared error between the cosine of every pair of ``vectors`` and 1 (same label) or 0."""
    unit = torch.nn.functional.normalize(vectors, dim=1)
    cosine = unit @ unit.T
    same = (labels[:, None] == labels[None, :]).to(cosine.dtype)
    pairs = ~torch.eye(len(labels), dtype=torch.bool, device=cosine.device)
    return ((cosine - same)[pairs] ** 2).mean()


def epochs_for_steps(epochs, n_songs, batch_size, min_steps):
    """``epochs``, raised so that training takes at least ``min_steps`` optimiser steps.

    A small training set gives few batches per epoch: 200 songs in batches of 16 are 13 steps, and
    4 epochs (52 steps) are too few for a transformer to move.
    """
    per_epoch = max(1, -(-n_songs // batch_size))
    if not epochs or not min_steps:
        return epochs
    return max(epochs, -(-min_steps // per_epoch))


def _trainable_encoder(est, texts, *, changes):
    """``(encoder wrapper, model to train, windows per song, window token ids)`` for ``texts``.

    The caller's encoder is copied when training ``changes`` it; LoRA adapters are added with
    ``est.lora``.
    """
    wrapper = est._base_encoder()
    if changes and est._given_encoder() is not None:  # never change the caller's encoder
        wrapper = wrapper.copy()
    model = _add_lora(wrapper.model_, est) if getattr(est, "lora", False) else wrapper.model_
    chunks = wrapper.chunk(texts)
    windows_of = [[] for _ in texts]
    for w, s in enumerate(chunks["song"]):
        windows_of[s].append(w)
    return wrapper, model, windows_of, chunks["input_ids"]


def _merged(est, wrapper, song_model):
    """The trained encoder as a :class:`BertEncoder` (LoRA adapters merged into its weights)."""
    if not getattr(est, "lora", False):
        return wrapper
    model = song_model.encoder.merge_and_unload()
    return BertEncoder.from_model(model, wrapper.tokenizer_, **wrapper.get_params())


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
    with warnings.catch_warnings():
        # peft (0.21) asks transformers (5.x) for the deprecated ``is_gradient_checkpointing``: a
        # FutureWarning about their code, not the user's, on every LoRA fit
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        return get_peft_model(model, config)
