"""Errors that end a program with a message rather than a traceback (see `cli/common.run`)."""


class RunFailedError(RuntimeError):
    """A run that was set up correctly failed on its own (a diverged loss, a failed stage): exit status 1."""
