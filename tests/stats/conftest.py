"""Hypothesis profiles of the property tests: derandomized under CI (CI=true), so a CI run never
fails on an example no earlier run saw; random elsewhere, with the seed reported on failure
(reproduce with `pytest --hypothesis-seed=N`)."""

from __future__ import annotations

import os
import random

import hypothesis
import pytest

hypothesis.settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis.settings.register_profile("random", print_blob=True)
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
hypothesis.settings.load_profile("ci" if UNDER_CI else "random")


def pytest_collection_modifyitems(config, items):
    if UNDER_CI or config.getoption("hypothesis_seed", None) is not None:
        return
    seed = random.SystemRandom().randrange(2**32)
    marked = False
    for item in items:
        test = getattr(item, "obj", None)
        if getattr(test, "is_hypothesis_test", False):
            hypothesis.seed(seed)(test)
            item.user_properties.append(("hypothesis_seed", seed))
            marked = True
    if marked:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tests/stats: Hypothesis seed {seed} (rerun with --hypothesis-seed={seed})")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seeds = [value for name, value in item.user_properties if name == "hypothesis_seed"]
    if report.failed and seeds:
        report.sections.append(("hypothesis", f"seed {seeds[0]}: rerun with --hypothesis-seed={seeds[0]}"))
