"""Under CI (``QA_CI=1``, set by ``.ci/run``) a skipped test is a failed test: whatever a test
needs (the browser, a dependency, a server) must be there. Imported by ``conftest.py``."""

import os

import pytest

IN_CI = bool(os.environ.get("QA_CI"))


def _no_skips_in_ci(report) -> None:
    """Turn a skipped report into a failed one under CI, saying why it was skipped."""
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under QA_CI, which counts as a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _no_skips_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _no_skips_in_ci(outcome.get_result())
