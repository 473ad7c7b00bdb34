"""A bounded client of OpenML (openml.org): every call ends within its timeout, and every
failure is one exception of a small hierarchy whose messages carry no URL and no API key.

Reading a dataset::

    settings = OpenMLSettings(server_url, cache_dir, timeout=30.0)
    dataset = load_dataset(61, settings)      # LoadedDataset: .table (pyarrow), .features
    warm_up(settings)                         # optional: start the fetch process now and wait for it
    list_active_datasets(settings)            # [2, 3, 5, ...]: every active dataset's id
    describe(61, settings).checksum           # OpenML's current md5, one small request

Errors: ``OpenMLError`` and its subclasses ``DatasetNotFound``, ``DatasetForbidden``,
``OpenMLUnavailable`` (unreachable, 5xx or too slow) and ``DatasetUnparseable``.

Inside: ``datasets`` (the load), ``local_cache`` (the cache folders and their locks),
``fetcher`` (the child process and its deadline), ``listing`` (the dataset list, in a child
process too), ``child`` and ``child_env`` (what runs in that process, the only place that
imports ``openml``), ``metadata`` (OpenML's XML), ``warm`` (what a serving process does as it
starts).
No Flask here.
"""

from .datasets import LoadedDataset, describe, load_dataset
from .errors import DatasetForbidden, DatasetNotFound, DatasetUnparseable, OpenMLError, OpenMLUnavailable
from .fetcher import start_fetch_server, warm_up
from .listing import list_active_datasets
from .settings import OpenMLSettings
from .warm import prepare_worker

__all__ = [
    "DatasetForbidden",
    "DatasetNotFound",
    "DatasetUnparseable",
    "LoadedDataset",
    "OpenMLError",
    "OpenMLSettings",
    "OpenMLUnavailable",
    "list_active_datasets",
    "describe",
    "load_dataset",
    "prepare_worker",
    "start_fetch_server",
    "warm_up",
]
