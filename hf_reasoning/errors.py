"""The one exception type users see: bad input, reported as a single line."""


class HFReasoningError(ValueError):
    """Invalid user input (unknown task, impossible size, …).

    The message is one line that names the bad value and what is allowed; the CLI prints it
    as ``error: <message>`` and exits with status 2, without a traceback.
    """


def check_choice(kind: str, value, allowed) -> None:
    """Raise a one-line error unless ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise HFReasoningError(f"unknown {kind} {value!r}; allowed: {', '.join(map(str, allowed))}")


def check_positive(name: str, value: int) -> None:
    if value <= 0:
        raise HFReasoningError(f"{name} must be a positive integer, got {value}")
