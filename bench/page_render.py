"""The dataset page in a real browser: how long dexter (20,001 features) takes to load, against iris.

Starts what tests/pages/test_browser.py starts: a real gunicorn (2 workers, the testing
configuration, a migrated SQLite file) reading the stand-in OpenML, and Debian's headless
Chromium driven by Playwright. Each page is computed and rendered once, then loaded N times,
each time in a fresh browser context (nothing cached). Prints the median time from the start of
the navigation to the `load` event (the browser's Navigation Timing), the ratio dexter / iris
measured in this run, and the size of dexter's HTML (decoded, and as sent).
Targets: dexter loads in under 2 s and its HTML is under 1 MB (1,000,000 bytes).

Run: .venv/bin/python bench/page_render.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

NAVIGATION = "() => performance.getEntriesByType('navigation')[0].toJSON()"
TARGET_SECONDS = 2.0
TARGET_BYTES = 1_000_000


def load(browser, url: str) -> dict:
    """Load `url` in a fresh context; its Navigation Timing entry (times in ms from its start)."""
    from tests.pages.test_browser import Visit

    visit = Visit(browser, url)
    try:
        assert visit.response.status == 200, visit.response.status
        return visit.page.evaluate(NAVIGATION)
    finally:
        visit.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5, help="loads of each page (default 5)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.pages.conftest import TIMEOUT
    from tests.pages.test_browser import CHROMIUM, CHROMIUM_ARGS, PAGES, statistics_of
    from tests.servers import environment_for_testing, gunicorn, gunicorn_command_for_testing, migrate
    from tests.servers import standin_openml_server

    names = ("dexter", "iris")
    with tempfile.TemporaryDirectory(prefix="openml-backend-page-render-") as scratch_name, \
            standin_openml_server() as openml:
        scratch = Path(scratch_name)
        env = environment_for_testing(scratch, f"sqlite:///{scratch / 'pages.db'}",
                                      OPENML_SERVER_URL=openml.api_url, OPENML_TIMEOUT=str(TIMEOUT))
        migrate(env)
        with gunicorn(env, scratch / "server.log", command=gunicorn_command_for_testing(2)) as server, \
                sync_playwright() as playwright:
            urls = {name: f"{server.url}/datasets/{PAGES[name]}" for name in names}
            for name in names:
                statistics_of(server, PAGES[name])
                answer = server.http("GET", f"/datasets/{PAGES[name]}", timeout=120)  # rendered once
                assert answer.status_code == 200, answer.text[:500]
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                entries = {name: [load(browser, urls[name]) for _ in range(args.repeats)] for name in names}
            finally:
                browser.close()

    seconds = {name: statistics.median(e["loadEventStart"] for e in entries[name]) / 1000 for name in names}
    html = entries["dexter"][-1]
    print(f"page render bench: gunicorn (2 workers, testing, SQLite), headless Chromium, "
          f"median of {args.repeats} loads to the load event, each in a fresh context")
    for name in names:
        loads = ", ".join(f"{e['loadEventStart'] / 1000:.3f}" for e in entries[name])
        print(f"{name:<7} /datasets/{PAGES[name]:<5} median {seconds[name]:.3f} s  (loads: {loads})")
    print(f"ratio dexter / iris: {seconds['dexter'] / seconds['iris']:.1f}")
    print(f"dexter HTML: {html['decodedBodySize']:,} bytes ({html['encodedBodySize']:,} as sent)")
    print(f"target dexter < {TARGET_SECONDS} s: {'met' if seconds['dexter'] < TARGET_SECONDS else 'missed'}; "
          f"HTML < {TARGET_BYTES:,} bytes: {'met' if html['decodedBodySize'] < TARGET_BYTES else 'missed'}")


if __name__ == "__main__":
    main()
