"""Run the stand-in OpenML server: ``python -m tests.standin_openml [--host H] [--port P]``.

Prints the base URL and the value for ``OPENML_SERVER_URL``; stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .datasets import FAULT_IDS_DOC, GENERATED_DATASETS
from .server import StandinOpenML


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.standin_openml", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--list", action="store_true", help="print the dataset and fault ids and exit")
    args = parser.parse_args(argv)
    if args.list:
        for table in (GENERATED_DATASETS, FAULT_IDS_DOC):
            for dataset_id, what in table.items():
                print(f"{dataset_id:>5}  {what}")
        return 0

    server = StandinOpenML(host=args.host, port=args.port)
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    server.start()
    print(f"stand-in OpenML serving at {server.url}", flush=True)
    print(f"OPENML_SERVER_URL={server.api_url}", flush=True)
    stop_requested.wait()
    server.stop()
    print("stand-in OpenML stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
