"""A stand-in OpenML server for tests and the offline demo.

``StandinOpenML`` serves the real fixtures of tests/fixtures/openml plus generated edge
cases over real HTTP, in the subset of OpenML's XML API that the ``openml`` client uses, and
injects faults on demand. Run it alone with ``python -m tests.standin_openml --port 8081``.

Dataset ids:

=========  =====================================================================
2          anneal (ARFF; 898 x 39, many missing values)
30         abalone (parquet, with a generated ARFF for the fallback; 4177 x 9)
61         iris (parquet and ARFF; 150 rows regenerated from scikit-learn)
4136       dexter (sparse ARFF, 2 x 20,001)
9001-9099  generated edge cases: ``datasets.GENERATED_DATASETS``
9901-9999  ids that always fault: ``datasets.FAULT_IDS_DOC``
other      412 with oml:error code 111 (unknown dataset), as OpenML answers
=========  =====================================================================
"""

from .datasets import FAULT_IDS_DOC, GENERATED_DATASETS
from .server import StandinOpenML

__all__ = ["FAULT_IDS_DOC", "GENERATED_DATASETS", "StandinOpenML"]
