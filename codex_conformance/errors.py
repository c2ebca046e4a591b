"""Errors the suite reports to its user as one clear line (bad input, missing Docker)."""


class SuiteError(Exception):
    """A problem with the suite's inputs or environment, not with the plugin under test.

    The message is shown verbatim as one line, so it must say what is wrong and what to do.
    """


class HarnessError(Exception):
    """The suite's own failure during a check: an install step, a container exec, the TUI
    driver waiting on a screen it drives, an evidence reader.

    Deliberately not an ``AssertionError``: a check's known deviation is an xfail that
    absorbs only the check's own assertion, so a harness failure is always reported as an
    ``error`` of the suite, never as the plugin's (expected or unexpected) failure.
    """
