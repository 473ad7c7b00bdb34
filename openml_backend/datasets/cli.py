"""`flask --app autoapp stats warm ID [ID...]`: precompute statistics entries."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..errors import ApiError
from .views import DEFAULT_PREVIEW_ROWS, MAX_DATASET_ID, dataset_statistics

stats_cli = AppGroup("stats", help="Dataset statistics cache.")


@stats_cli.command("warm")
@click.argument("dataset_ids", nargs=-1, required=True, type=click.IntRange(1, MAX_DATASET_ID))
@click.option("--refresh", is_flag=True, help="Recompute even when an entry exists.")
def warm(dataset_ids: tuple[int, ...], refresh: bool) -> None:
    """Compute and store the statistics of each dataset; print what failed and why."""
    statistics = dataset_statistics()
    failures: list[tuple[int, str, str]] = []
    computed = reused = 0
    with click.progressbar(dataset_ids, label="warming statistics", item_show_func=lambda i: i and str(i)) as bar:
        for dataset_id in bar:
            try:
                rendered = statistics.answer(dataset_id, DEFAULT_PREVIEW_ROWS, force_refresh=refresh)
            except ApiError as error:
                failures.append((dataset_id, error.code, error.message))
                continue
            if rendered.cached:
                reused += 1
            else:
                computed += 1
    click.echo(f"{computed} computed, {reused} already stored, {len(failures)} failed")
    for dataset_id, code, message in failures:
        click.echo(f"  dataset {dataset_id}: {code}: {message}", err=True)
    if failures:
        raise SystemExit(1)
