"""Which model and training flags apply where: a flag that would be silently ignored (by a
run directory's backtest, by ``--model auto``, by a model that does not read it) is one
line naming it instead."""

from __future__ import annotations


def runtime_flags(args, train):
    """``train`` with the runtime flags given; any other model or training flag is refused:
    a run directory is backtested with its own settings, and a flag silently ignored would
    mislead."""
    import dataclasses

    from ..config import RUNTIME

    given = [(opt, dest) for opt, dest, default in args.model_flags
             if getattr(args, dest) != default]
    other = [opt for opt, dest in given if dest not in RUNTIME]
    if other:
        raise ValueError(f"{', '.join(other)}: RUN_DIR is backtested with its own settings;"
                         " give --model and --data instead to backtest other ones")
    return dataclasses.replace(train, **{dest: getattr(args, dest) for _, dest in given})


TRAINING = ("epochs", "batch_size", "lr", "patience", "min_epochs", "lr_schedule", "weight_decay")
# What --model auto chooses itself: given with it, these would be silently ignored (its
# --epochs caps each network trial instead).
AUTO_CHOOSES = ("input_len", "diff", "strategy", "no_scale", "hidden_size", "num_layers",
                *(t for t in TRAINING if t != "epochs"))


def refuse_for_auto(args) -> None:
    """``--model auto`` with a flag it chooses itself (or a head, which its members lack):
    one line naming them, rather than a flag silently ignored."""
    chosen = [opt for opt, dest, default in args.model_flags
              if dest in AUTO_CHOOSES and getattr(args, dest) != default]
    chosen += [f"--{k}" for k in ("quantiles", "likelihood") if getattr(args, k, None)]
    if chosen:
        raise ValueError(f"{', '.join(chosen)}: --model auto chooses these itself (its"
                         " intervals are conformal); name a model, e.g. --model gru, to set"
                         " them")


# Flags some models do not read: given, they would be silently ignored.
UNREAD = ((("hidden_size", "num_layers"), "has no recurrent layers",
           ("naive", "seasonal_naive", "linear", "wavenet_simple", "wavenet")),
          (TRAINING, "has nothing to train", ("naive", "seasonal_naive")))


def refuse_unread(args) -> None:
    """A flag the named model does not read: one line naming it, not a flag ignored."""
    for dests, why, models in UNREAD:
        given = [opt for opt, dest, default in args.model_flags
                 if dest in dests and getattr(args, dest) != default]
        if args.model in models and given:
            raise ValueError(f"{', '.join(given)}: model {args.model!r} {why}; leave"
                             f" {'it' if len(given) == 1 else 'them'} out")


def search_config(args):
    """The ``AutoConfig`` of ``--model auto`` or ``--ensemble K`` (None otherwise)."""
    given = {"--networks-only": getattr(args, "networks_only", False),
             "--budget": getattr(args, "budget", None) is not None,
             "--combine": getattr(args, "combine", None) is not None,
             "--trials": getattr(args, "trials", None) is not None}
    for flag, used in given.items():
        if args.model != "auto" and used:  # said, then silently ignored, would mislead
            raise ValueError(f"{flag} applies to --model auto")
    if args.model != "auto" and not args.ensemble:
        return None
    from ..forecasting.auto import AutoConfig

    if args.model != "auto":
        return AutoConfig(ensemble=args.ensemble)
    from .series_args import BUDGET

    return AutoConfig(budget=float(args.budget or BUDGET), ensemble=args.ensemble or 3,
                      **({"epochs": args.epochs} if args.epochs else {}),
                      seed=args.seed if args.seed is not None else 0,
                      combine=getattr(args, "combine", None) or "median",
                      trials=getattr(args, "trials", None),
                      classical=not getattr(args, "networks_only", False))
