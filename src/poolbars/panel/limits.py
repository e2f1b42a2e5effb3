"""The panel's bounds: how much of each list and user text a PanelState keeps, and the
helpers that clip text and numbers to them as events are folded (pure functions).

Bounded so a snapshot stays small however long a run is or whatever a task reports.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterable, Optional, Union, overload

MAX_LANES = 64
MAX_FAILURES = 20
MAX_GROUPS = 20  # failure groups (kind, message shape); later shapes join "other"
MAX_GROUP_ITEMS = 50  # item indices listed per failure group, the smallest
MAX_TRACEBACK_CHARS = 1500
MAX_TEXT_CHARS = 300  # a title, name, label, description, unit or message
MAX_ERROR_CHARS = 1000
MAX_POSTFIX = 20  # postfix pairs shown per bar
MAX_POSTFIX_CHARS = 100  # per postfix key or value
MAX_META = 20  # keys of a bar's `meta` (more is refused at the call)
MAX_META_CHARS = 200  # per meta value, as JSON text (its key: MAX_POSTFIX_CHARS)
MAX_INNER = 200_000  # tasks whose final bar is remembered for the run record
MAX_EARLY = 16  # messages a lane holds for tasks whose START has not come yet


@overload
def clip(text: None, limit: int = MAX_TEXT_CHARS) -> None: ...
@overload
def clip(text: object, limit: int = MAX_TEXT_CHARS) -> str: ...


def clip(text: object, limit: int = MAX_TEXT_CHARS) -> Optional[str]:
    """Shorten user text for display, keeping the start (None stays None)."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_tail(text: object, limit: int = MAX_TRACEBACK_CHARS) -> str:
    """Shorten a traceback for display, keeping the end (where the error is)."""
    text = str(text)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def clip_postfix(pairs: Iterable[tuple[Any, Any]]) -> tuple[tuple[str, str], ...]:
    """At most MAX_POSTFIX `(key, value)` pairs, each side clipped."""
    return tuple((clip(k, MAX_POSTFIX_CHARS), clip(v, MAX_POSTFIX_CHARS))
                 for k, v in itertools.islice(pairs, MAX_POSTFIX))


def clip_meta(pairs: Iterable[tuple[Any, Any]]) -> tuple[tuple[str, str], ...]:
    """At most MAX_META `(key, JSON text)` pairs of a bar's meta, each side clipped."""
    return tuple((clip(k, MAX_POSTFIX_CHARS), clip(v, MAX_META_CHARS))
                 for k, v in itertools.islice(pairs, MAX_META))


def json_number(value: Any) -> Union[int, float, None]:
    """`value` if JSON and the browser can hold it as a number, else None: NaN, the
    infinities and integers past the float range are no count a view can show (and the
    widget's JSON refuses NaN)."""
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return None
        return int(value)
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None
