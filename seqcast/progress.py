"""A live per-epoch progress display (rich), off when output is not a terminal."""

from __future__ import annotations


class EpochProgress:
    """Context manager showing epoch, loss, validation figures and time left."""

    def __init__(self, show: bool, epochs: int, description: str):
        self.show, self.epochs, self.description = show, epochs, description

    def __enter__(self):
        if self.show:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(),
                TextColumn("epoch {task.completed}/{task.total}"), TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(), transient=True,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task(self.description, total=self.epochs, info="")
        return self

    def update(self, epoch: int, record: dict[str, float]) -> None:
        if self.show:
            info = " ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "seconds")
            self.bar.update(self.task, completed=epoch + 1, info=info)

    def __exit__(self, *exc):
        if self.show:
            self.bar.__exit__(*exc)
        return False
