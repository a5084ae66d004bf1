"""The training step: Adam on MSE for one batch, eager, or captured once as a CUDA graph and
replayed. ``seqcast.train.fit`` builds one with ``make_step`` and calls it per batch.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from .config import TrainConfig


def adam(params: list[Tensor], config: TrainConfig, device: torch.device) -> torch.optim.Adam:
    """Adam (AdamW when ``config.weight_decay`` > 0) as one fused kernel where this torch has
    it (CPU and CUDA), else the default. On CUDA its step counter lives on the device, so the
    step can be captured as a graph."""
    extra = {"capturable": True} if device.type == "cuda" else {}
    kind = torch.optim.Adam
    if config.weight_decay > 0:
        kind, extra = torch.optim.AdamW, {**extra, "weight_decay": config.weight_decay}
    try:
        return kind(params, lr=config.lr, eps=config.adam_eps, fused=True, **extra)
    except (RuntimeError, ValueError, TypeError):
        return kind(params, lr=config.lr, eps=config.adam_eps, **extra)


def lr_scheduler(optimizer, config: TrainConfig):
    """The per-epoch learning-rate schedule of ``config.lr_schedule`` (None for "none").

    "plateau" halves the rate after a quarter of ``patience`` epochs (at least 3) without a
    better monitored loss; "cosine" anneals it to zero over ``epochs``."""
    if config.lr_schedule == "plateau":
        wait = max(3, (config.patience or 12) // 4)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=wait)
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(config.epochs, 1))
    return None


def step_schedule(scheduler, record: dict) -> None:
    """Advance ``scheduler`` after an epoch; a plateau schedule watches the validation loss
    (the training loss without a validation part)."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(record.get("val_loss", record["loss"]))
    elif scheduler is not None:
        scheduler.step()


def make_step(net, take, target_size: int, params, optimizer, config: TrainConfig, world: int,
              device: torch.device, loss_sum=None):
    """One training step on the rows ``idx`` of a global batch of ``batch_len`` rows; returns
    the rank's summed squared error (detached). ``keep_grads`` zeroes gradients in place
    instead of dropping them, so a captured graph's gradient buffers stay the ones in use.
    ``loss_sum(pred, y)``: another summed loss (a head's pinball or NLL) instead of MSE."""
    bf16 = config.precision == "bf16"
    adam_step = AdamStep(optimizer)
    # a distribution head's loss and its gradient straight from the raw outputs under the
    # head, in one C call (``HeadLoss.fused``); the gradient goes to autograd as it is
    fused = loss_sum.fused(net) if hasattr(loss_sum, "fused") else None
    body = net if fused is None else net.inner

    def step(idx: Tensor, batch_len: int, keep_grads: bool = False) -> Tensor:
        xb, yb = take(idx)
        if bf16:
            with torch.autocast(device.type, dtype=torch.bfloat16):
                pred = body(xb).float()
        else:
            pred = body(xb)
        # rank share of the global batch mean; equals the MSE in one process
        scale = world / (batch_len * target_size)
        direct = None if fused is None else fused(pred, yb, scale)  # (sse, d(sse scale)/dpred)
        if direct is None:
            if loss_sum is None:
                sse = nn.functional.mse_loss(pred, yb, reduction="sum")
            else:
                sse = loss_sum(pred if fused is None else net.read(pred), yb)
            loss = sse * scale
        for p in params:
            if not keep_grads:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()
        if direct is None:
            loss.backward()
        else:
            sse = direct[0]
            pred.backward(direct[1])
        if config.clip_value is not None:
            nn.utils.clip_grad_value_(params, config.clip_value)
        if config.clip_norm is not None:
            nn.utils.clip_grad_norm_(params, config.clip_norm)
        adam_step()
        return sse.detach()

    return step


class AdamStep:
    """``optimizer.step()`` for a fused Adam on the CPU without its per-call bookkeeping.

    Once the first step has created Adam's state, each step is the same fused kernel on
    cached lists of that state (~60 us less per step on the CPU here, where the chapter's
    smallest models take ~200 us a step), and the parameters' step counters, equal from
    then on, are one shared tensor incremented once (``_foreach_add_`` over a list of CPU
    scalars runs one op per tensor: ~35 us a step in a profile of the LSTM model). Any
    other optimizer or setting (CUDA, where the step is captured in a graph anyway) is
    stepped as usual.
    """

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer, self.state = optimizer, None
        groups = optimizer.param_groups
        g = groups[0]
        self.fast = (isinstance(optimizer, torch.optim.Adam) and len(groups) == 1
                     and hasattr(torch, "_fused_adam_") and bool(g.get("fused"))
                     and not g["capturable"] and not g["amsgrad"] and not g["maximize"]
                     and not g["differentiable"] and g["weight_decay"] == 0
                     and all(p.device.type == "cpu" and p.dtype == torch.float32 for p in g["params"]))

    def __call__(self) -> None:
        params = self.optimizer.param_groups[0]["params"]
        grads = [p.grad for p in params] if self.fast else []
        if not self.fast or self.state is None or any(g is None for g in grads):
            states = [self.optimizer.state[p] for p in params if "step" in self.optimizer.state[p]]
            if len({id(s["step"]) for s in states}) < len(states):
                for s in states:  # Adam increments each counter: none may be shared
                    s["step"] = s["step"].clone()
            self.optimizer.step()
            self.state = None
            states = [self.optimizer.state.get(p, {}) for p in params]
            if self.fast and all("step" in s for s in states):
                steps = {float(s["step"]) for s in states}
                if len(steps) == 1:
                    shared = states[0]["step"]
                    for s in states:
                        s["step"] = shared
                    self.state = ([s["exp_avg"] for s in states],
                                  [s["exp_avg_sq"] for s in states], shared)
            return
        g = self.optimizer.param_groups[0]
        exp_avgs, exp_avg_sqs, step = self.state
        step.add_(1)
        torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], [step] * len(params),
                           amsgrad=False, lr=g["lr"], beta1=g["betas"][0], beta2=g["betas"][1],
                           weight_decay=0.0, eps=g["eps"], maximize=False)


class GraphedStep:
    """The training step captured once as a CUDA graph and replayed for every full batch.

    The first ``warmup`` full batches run eagerly on a side stream (they are real steps, so
    training is the same as without the graph); the next one is captured and replayed, with
    its batch indices copied into a static index tensor. The graph's gradient buffers stay
    in place, so a smaller last batch runs eagerly on them. If capture fails (an operation
    that cannot be captured), training goes on eagerly.
    """

    warmup = 3

    def __init__(self, step, optimizer, batch_size: int, device: torch.device):
        self.step, self.optimizer, self.batch_size = step, optimizer, batch_size
        self.idx = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.graph, self.sse, self.calls, self.failed = None, None, 0, False

    def __call__(self, idx: Tensor, batch_len: int) -> Tensor:
        if len(idx) != self.batch_size or self.failed:
            return self.step(idx, batch_len, keep_grads=self.graph is not None)
        if self.graph is None:
            if self.calls < self.warmup:
                self.calls += 1
                return self._side_stream(idx, batch_len)
            if not self._capture(batch_len):
                return self.step(idx, batch_len)
        self.idx.copy_(idx)
        self.graph.replay()
        return self.sse

    def _side_stream(self, idx: Tensor, batch_len: int) -> Tensor:
        main, side = torch.cuda.current_stream(), torch.cuda.Stream()
        side.wait_stream(main)
        with torch.cuda.stream(side):
            sse = self.step(idx, batch_len)
        main.wait_stream(side)
        sse.record_stream(main)
        return sse

    def _capture(self, batch_len: int) -> bool:
        self.optimizer.zero_grad(set_to_none=True)  # the graph allocates the gradients
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.sse = self.step(self.idx, batch_len, keep_grads=True)
        except RuntimeError as error:
            warnings.warn(f"training step could not be captured as a CUDA graph ({error}); "
                          "training eagerly", RuntimeWarning, stacklevel=3)
            self.failed, self.sse = True, None
            self.optimizer.zero_grad(set_to_none=True)
            return False
        self.graph = graph
        return True
