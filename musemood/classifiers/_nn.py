"""Torch modules and the training loop shared by the classifiers (private)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..encoders import average_chunks, pad_batch, pool

logger = logging.getLogger(__name__)

OPTIMIZERS = ("adamw", "adagrad", "sgd")


class MLPHead(nn.Module):
    """Dropout -> [Linear -> GELU -> Dropout] -> Linear.  No hidden layer when ``hidden_size`` is falsy."""

    def __init__(self, in_dim, n_out, hidden_size=None, dropout=0.1):
        super().__init__()
        # Input standardisation, set from training features when they are fixed.
        self.register_buffer("shift", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        self.drop_in = nn.Dropout(dropout)
        self.hidden = nn.Sequential(nn.Linear(in_dim, hidden_size), nn.GELU()) if hidden_size else None
        self.drop_hidden = nn.Dropout(dropout) if hidden_size else nn.Identity()
        self.out = nn.Linear(hidden_size or in_dim, n_out)

    def standardize_with(self, features):
        """Centre and scale inputs with the mean and standard deviation of ``features``."""
        std = features.std(dim=0)
        self.shift.copy_(features.mean(dim=0))
        self.scale.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))
        return self

    def forward(self, x, return_hidden=False):
        h = self.drop_in((x - self.shift) / self.scale)
        if self.hidden is not None:
            h = self.hidden(h)
        logits = self.out(self.drop_hidden(h))
        return (logits, h) if return_hidden else logits


class SongModel(nn.Module):
    """Encoder windows -> pooled -> averaged per song -> [concat extra features] -> head."""

    def __init__(self, encoder, head, pooling="mean"):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.pooling = pooling

    def forward(self, input_ids, attention_mask, window_song, n_songs, extra=None):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        vectors = average_chunks(pool(hidden, attention_mask, self.pooling), window_song, n_songs)
        if extra is not None:
            vectors = torch.cat([vectors, extra], dim=1)
        return self.head(vectors)


def make_optimizer(name, params, lr, weight_decay):
    params = [p for p in params if p.requires_grad]
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def song_batches(songs, windows_of, input_ids, batch_size, rng=None, pad_token_id=0):
    """Yield ``(song_positions, batch)`` over ``songs`` with all windows of each song.

    With ``rng``, songs are shuffled, then sorted by length within pools of 20
    batches (less padding), and the batches shuffled again.
    """
    songs = np.asarray(songs)
    if rng is not None:
        songs = songs[rng.permutation(len(songs))]
        length = np.array([sum(len(input_ids[w]) for w in windows_of[s]) for s in songs])
        pool_size = batch_size * 20
        for start in range(0, len(songs), pool_size):
            part = slice(start, start + pool_size)
            songs[part] = songs[part][np.argsort(-length[part], kind="stable")]
    batches = [songs[i : i + batch_size] for i in range(0, len(songs), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    for batch_songs in batches:
        windows, owner = [], []
        for j, s in enumerate(batch_songs):
            windows.extend(windows_of[s])
            owner.extend([j] * len(windows_of[s]))
        batch = pad_batch([input_ids[w] for w in windows], pad_token_id)
        batch["window_song"] = torch.as_tensor(owner, dtype=torch.long)
        batch["n_songs"] = len(batch_songs)
        yield batch_songs, batch


def train_loop(
    model,
    batches,
    loss_fn,
    *,
    epochs,
    optimizer="adamw",
    learning_rate,
    weight_decay=0.01,
    warmup_ratio=0.0,
    max_grad_norm=1.0,
    evaluate=None,
    patience=None,
    device="cpu",
    show_progress_bar=False,
    desc="Training",
    checkpoint=None,
):
    """Train ``model``; return the per-epoch history and keep the best weights.

    ``batches(epoch)`` returns a list of ``(inputs, targets)``: ``inputs`` a dict
    of model arguments.  ``evaluate()`` returns the validation loss (or ``None``),
    or a dict of ``valid_loss`` and ``valid_accuracy``: the best epoch is then the
    one of the best accuracy, the loss breaking ties.  With ``evaluate``, the
    weights of the best epoch are restored at the end and training stops after
    ``patience`` epochs without improvement.

    ``checkpoint`` (``(file path, key)``, see ``TextEstimator._checkpoint``) is written after
    every epoch (weights, optimizer, schedule, random state, history; atomically).  When the
    file exists at the start, training continues after its last epoch and ends as an
    uninterrupted run would have: the shuffles of the epochs already done are replayed, the
    random state restored.  ``key`` names the model, settings, seed and data: a checkpoint of
    another training is refused, never resumed.
    """
    from transformers import get_linear_schedule_with_warmup

    opt = make_optimizer(optimizer, model.parameters(), learning_rate, weight_decay)
    first = batches(0)
    steps = max(1, len(first) * epochs)
    scheduler = get_linear_schedule_with_warmup(opt, int(warmup_ratio * steps), steps)
    history, best, best_state, waited = [], None, None, 0
    checkpoint, key = checkpoint if checkpoint is not None else (None, None)
    shape = {"desc": desc, "epochs": epochs, "batches": len(first), "key": key}
    if checkpoint is not None and Path(checkpoint).exists():
        history, best, best_state, waited = _resume(checkpoint, shape, model, opt, scheduler)
        for epoch in range(1, len(history)):
            batches(epoch)  # the shuffles of the epochs done, so the next epoch's batches are the same
        logger.info("%s: resumed from %s after epoch %d", desc, checkpoint, len(history))
    done = patience is not None and evaluate is not None and waited >= patience
    for epoch in range(len(history), 0 if done else epochs):
        model.train()
        started, seen, total = time.perf_counter(), 0, 0.0
        epoch_batches = first if epoch == 0 else batches(epoch)
        bar = tqdm(epoch_batches, desc=f"{desc} epoch {epoch + 1}/{epochs}", disable=not show_progress_bar,
                   leave=False)
        for inputs, targets in bar:
            inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in inputs.items()}
            loss = loss_fn(model(**inputs), targets.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if max_grad_norm:
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            opt.step()
            scheduler.step()
            n = len(targets)
            seen += n
            total += float(loss.detach()) * n
        seconds = time.perf_counter() - started
        record = {"epoch": epoch + 1, "train_loss": total / max(seen, 1), "seconds": seconds,
                  "samples_per_s": seen / seconds if seconds else float("nan")}
        if evaluate is not None:
            model.eval()
            valid = evaluate()
            measures = valid if isinstance(valid, dict) else {"valid_loss": valid}
            record.update(measures)
            criterion = _criterion(measures)
            if criterion is not None and _better(criterion, best):
                best, waited = criterion, 0
                best_state = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
            else:
                waited += 1
        history.append(record)
        logger.info("%s epoch %d: %s", desc, epoch + 1, record)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, {"shape": shape, "model": model.state_dict(), "optimizer": opt.state_dict(),
                                          "scheduler": scheduler.state_dict(), "history": history, "best": best,
                                          "best_state": best_state, "waited": waited,
                                          "torch_rng": torch.get_rng_state()})
        if patience is not None and evaluate is not None and waited >= patience:
            break
    if best_state is not None:
        with torch.no_grad():
            params = dict(model.named_parameters())
            for name, value in best_state.items():
                params[name].copy_(value)
    model.eval()
    return history


def _criterion(measures):
    """What an epoch is judged by, smaller is better: ``[-accuracy, loss]`` or ``[loss]`` (``None``
    without a validation loss)."""
    loss = measures.get("valid_loss")
    if loss is None:
        return None
    accuracy = measures.get("valid_accuracy")
    return [float(loss)] if accuracy is None else [-float(accuracy), float(loss)]


def _better(criterion, best):
    """Whether ``criterion`` beats ``best``, in order of its entries (a NaN loss never does)."""
    if best is None or len(best) != len(criterion):  # the first epoch (or another rule's checkpoint)
        return not np.isnan(criterion[-1])
    for new, old in zip(criterion, best):
        if new < old - 1e-6:
            return True
        if not new <= old + 1e-6:  # worse, or NaN
            return False
    return False


def _save_checkpoint(path, state):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    torch.save(state, part)
    os.replace(part, path)  # a run killed while writing leaves the previous epoch's checkpoint


def _resume(path, shape, model, opt, scheduler):
    """Load a checkpoint into the model, optimizer and schedule; ``(history, best, best_state, waited)``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        found = state["shape"]
    except Exception as exc:  # torch reports a damaged file with several error types
        raise ValueError(f"{path} is not a readable training checkpoint ({type(exc).__name__}: {exc}); delete it "
                         "to train from the start") from None
    if found != shape:
        raise ValueError(f"{path} was written by another training ({found}, this one is {shape}): same model, "
                         "data and settings are needed to resume; delete it or use another checkpoint folder")
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(f"{path} does not fit this model ({first}); delete it to train from the start") from None
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    best = state["best"]
    if best is not None and np.isscalar(best):  # a checkpoint of an older musemood kept the loss alone
        best = [float(best)] if np.isfinite(best) else None
    return list(state["history"]), best, state["best_state"], state["waited"]


def loss_function(objective, class_weights=None):
    """Cross-entropy (weighted per class when ``class_weights`` is given) or mean squared error."""
    if objective == "classification":
        return nn.CrossEntropyLoss(weight=None if class_weights is None else
                                   torch.as_tensor(class_weights, dtype=torch.float32))
    mse = nn.MSELoss()
    return lambda out, target: mse(out.squeeze(-1), target)
