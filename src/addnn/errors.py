"""User-facing errors: the CLI prints these as one line and exits with status 2."""


class AddnnError(Exception):
    """Bad input or an unmet requirement, explained in one line."""
