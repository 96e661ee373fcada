"""User-facing errors: one message that names the problem and the fix.

Every front end (CLI, UI, notebooks) catches `WorkbenchError` and shows `str(err)`;
anything else is a bug and is logged with its traceback to the run's log file only.
"""


class WorkbenchError(Exception):
    """A problem the user can fix; the message says what and how."""


class ConfigError(WorkbenchError):
    """One or more RunConfig fields are invalid.

    `problems` is a list of (field, message) pairs so a form can mark each field.
    """

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"{field}: {message}" for field, message in problems]
        super().__init__("Invalid config:\n  " + "\n  ".join(lines) if len(lines) > 1 else f"Invalid config: {lines[0]}")


class DataError(WorkbenchError):
    """The dataset cannot be used as it is; `problems` lists every issue found."""

    def __init__(self, message: str, problems: list | None = None):
        self.problems = problems or []
        super().__init__(message)


class ModelNotFoundError(WorkbenchError):
    """The base model cannot be resolved (missing folder, offline Hub id, unknown run)."""
