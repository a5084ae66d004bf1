"""torch.nn twins of the stock cells, for parity tests."""

import torch

STOCK = {"simple": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def torch_twin(cell, ref_cls):
    """A one-layer ``ref_cls`` (torch.nn.RNN/LSTM/GRU) holding ``cell``'s weights."""
    ref = ref_cls(cell.input_size, cell.hidden_size, batch_first=True)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            p.copy_(getattr(cell, name.removesuffix("_l0")))
    return ref
