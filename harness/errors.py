"""The one exception type that means "the user asked for something we cannot do".

The CLI turns a :class:`UserError` into a single line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input: the message names what is wrong and how to fix it, on one line."""

    exit_code = 2


def os_reason(exc: OSError) -> str:
    """Why a write failed, in words that point at the cause.

    Creating ``a/b/c`` where ``a`` is a file fails with "File exists" or "Not a
    directory", which names neither the culprit nor the fix.
    """
    if isinstance(exc, FileExistsError) and exc.filename:
        return f"{exc.filename} is a file, not a folder"
    if isinstance(exc, NotADirectoryError) and exc.filename:
        return f"part of {exc.filename} is a file, not a folder"
    return exc.strerror or str(exc)
