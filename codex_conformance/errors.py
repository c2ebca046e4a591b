"""Errors the suite reports to its user as one clear line (bad input, missing Docker)."""


class SuiteError(Exception):
    """A problem with the suite's inputs or environment, not with the plugin under test.

    The message is shown verbatim as one line, so it must say what is wrong and what to do.
    """
