"""The one base exception that means "the user asked for something we cannot do".

The CLI turns a :class:`UserError` into a single line on stderr and exit code 2;
anything else is a bug and keeps its traceback. Messages are phrased for the
Python API (``budget evals must be a positive integer``); the command line
rewrites parameter names into its flags (``--budget-evals ...``, see
``tabnas.cli``). Subclasses say what kind of problem it is, so a script can
catch one kind and let the others through; every one exits with code 2. An
``OSError`` (a full disk, a permission) is the environment's, not a bug: it
too becomes one line. A failure of the environment that tabnas words itself
(a write that failed, an experiment lock held elsewhere) is a plain
:class:`UserError`: it is none of the kinds below.
"""

import errno


class UserError(Exception):
    """Bad input: the message names what is wrong and how to fix it, on one line."""

    exit_code = 2


#: errno values that mean "no room": a full disk or no inodes, a quota, a file-size limit.
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class DataMissing(UserError):
    """Data that is needed is not there: a benchmark's files, a package, an experiment's runs."""


class DamagedData(UserError):
    """A file is there but unreadable: truncated, corrupt, inconsistent, or of another format."""


class BadConfiguration(UserError):
    """A setting is invalid: an unknown name, a value out of range, a malformed option."""


class IncompatibleExperiment(UserError):
    """An existing experiment ran with other settings, another format, or other code."""


class UnpairedSeeds(UserError):
    """Paired statistics need every strategy run on the same seeds, and they were not."""


def os_reason(exc: OSError) -> str:
    """Why a write failed, in words that point at the cause.

    Creating ``a/b/c`` where ``a`` is a file fails with "File exists" or "Not a
    directory", which names neither the culprit nor the fix.
    """
    if isinstance(exc, FileExistsError) and exc.filename:
        return f"{exc.filename} is a file, not a folder"
    if isinstance(exc, NotADirectoryError) and exc.filename:
        return f"part of {exc.filename} is a file, not a folder"
    if exc.errno in _NO_ROOM:
        return f"{exc.strerror or exc} (free some space, or write elsewhere)"
    return exc.strerror or str(exc)


def os_error_line(exc: OSError) -> str:
    """The one line for an ``OSError`` that reached the command line (a write or read failed)."""
    reason = os_reason(exc)
    if exc.filename and str(exc.filename) not in reason:
        reason = f"{exc.filename}: {reason}"
    return reason
