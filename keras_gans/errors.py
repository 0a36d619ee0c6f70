"""User-facing errors: the CLI prints their one-line message and exits with status 2."""


class UsageError(ValueError):
    """Bad input a user can fix: the message names the problem and the fix."""


class ImageSizeError(UsageError):
    """An image size a network cannot be built at."""
