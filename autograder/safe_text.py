"""Make text from students safe for every place it goes: JSON, HTML, CSV, the terminal.

Student text (file names, exception messages, printed output, assertion messages built from
their return values) can hold anything: lone surrogates (not encodable as UTF-8), terminal
escape codes, bidirectional-override characters that reorder what a reader sees, leading
``=`` that a spreadsheet runs as a formula, or megabytes of text.

    clean(text, limit)        -> str without lone surrogates, at most about ``limit`` chars
    clean_data(value)         -> the same over nested dicts/lists (results.json data)
    visible(text, keep)       -> control, format (bidi, zero-width) and line-separator
                                 characters replaced by a visible ``<U+202E>``
    for_html(text)            -> visible() then HTML-escaped (newlines and tabs kept)
    for_terminal(text)        -> visible() with nothing kept but newlines
    for_csv(cell)             -> visible(), then a leading = + - @ tab or CR neutralised by ``'``
    safe_id(name)             -> a student id: letters, digits and ``._@+-`` only, starting with
                                 a letter, digit or ``_``, at most 100 characters
    readable_name(name)       -> a file name as text (bytes that are not UTF-8 as ``\\xff``)
"""

from __future__ import annotations

import html
import os
import re
import unicodedata

SURROGATES = re.compile("[\ud800-\udfff]")
_INVISIBLE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_ID_CHARS = 100
_ID_PUNCTUATION = "._@+-"


def no_surrogates(text: str) -> str:
    """``text`` with every lone surrogate (U+D800..U+DFFF) replaced by U+FFFD."""
    return SURROGATES.sub("\ufffd", text)


def capped(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text`` plus a note of how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [{len(text) - limit} more characters cut]"


def clean(text, limit: int | None = None) -> str:
    """``str(text)`` without lone surrogates, capped at ``limit`` characters (None: no cap)."""
    text = text if isinstance(text, str) else str(text)
    if limit is not None:
        text = capped(text, limit)
    return no_surrogates(text)


def clean_data(value, limit: int = 20_000):
    """Every string in nested dicts/lists/tuples cleaned (keys too), each capped at ``limit``."""
    if isinstance(value, str):
        return clean(value, limit)
    if isinstance(value, dict):
        return {clean_data(k, limit): clean_data(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v, limit) for v in value]
    return value


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES


def visible(text: str, keep: str = "\n\t") -> str:
    """Control, format (bidi overrides, zero-width), private-use, unassigned, surrogate and
    line/paragraph-separator characters replaced by ``<U+XXXX>``; characters in ``keep`` stay."""
    text = text if isinstance(text, str) else str(text)
    return "".join(f"<U+{ord(c):04X}>" if c not in keep and _is_invisible(c) else c
                   for c in text)


def for_html(text, limit: int | None = None) -> str:
    """Student text for an HTML page: cleaned, invisible characters shown, then escaped."""
    return html.escape(visible(clean(text, limit)))


def for_terminal(text) -> str:
    """Text for the instructor's terminal: no escape codes, no bidi controls, no surrogates."""
    return visible(clean(text), keep="\n")


def for_csv(cell) -> str:
    """One CSV cell that a spreadsheet shows as text (never runs as a formula)."""
    text = visible(clean(cell), keep="")
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def readable_name(name: str | bytes) -> str:
    """A file name as printable text; bytes that are not UTF-8 appear as ``\\xff``."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    return visible(raw.decode("utf-8", "backslashreplace"), keep="")


def safe_id(name: str) -> str:
    """A student id for ``name`` (a file or folder name, possibly hostile).

    Letters and digits (any script, NFC-normalised) and ``._@+-`` are kept; anything else
    becomes ``_``. The id starts with a letter, digit or ``_`` (never ``.``, ``=``, ``-``,
    ``+`` or ``@``: no hidden files, no spreadsheet formulas, no command-line options) and has
    at most 100 characters. Never empty. Never contains ``~`` (free for uniqueness suffixes).
    """
    text = unicodedata.normalize("NFC", no_surrogates(str(name)))
    text = "".join(c if c.isalnum() or c in _ID_PUNCTUATION else "_" for c in text)
    if not text or not (text[0].isalnum() or text[0] == "_"):
        text = "_" + text
    return text[:MAX_ID_CHARS]


def unique_ids(names: list[str]) -> list[str]:
    """``safe_id`` of each name, made unique (ignoring case) by ``~2``, ``~3``... suffixes.

    Deterministic: the same list of names always gives the same ids. Names are taken in
    sorted order of (id, name), so the first keeps the plain id.
    """
    ids = [safe_id(n) for n in names]
    order = sorted(range(len(names)), key=lambda i: (ids[i].casefold(), ids[i],
                                                     os.fsencode(names[i])))
    taken: set[str] = set()
    result = [""] * len(names)
    for index in order:
        candidate, number = ids[index], 1
        while candidate.casefold() in taken:
            number += 1
            candidate = f"{ids[index]}~{number}"
        taken.add(candidate.casefold())
        result[index] = candidate
    return result
