"""Imports row by row: write the good rows in batches, report each bad one by line and field."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from dispatcher.errors import InvalidPayload

BATCH = 500
Progress = Callable[[int], None]

@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row: where, which field, and why."""

    line: int
    field: str
    reason: str
    written: bool  # True: the row was stored anyway (a warning); False: it was left out


@dataclass
class ImportReport:
    """What an import wrote and what it found wrong."""

    written: int = 0
    without_hours: int = 0  # AEDs stored with no opening hours: never offered
    problems: list[Problem] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Count the rows left out."""
        return len({p.line for p in self.problems if not p.written})


def decode(data: bytes) -> str:
    """Return a file's text: UTF-8 (with or without BOM), else Windows-1252; raise if neither.

    Bytes that are valid UTF-8 are almost never meant as anything else, so UTF-8 is tried
    strictly first; Windows-1252 (a superset of Latin-1's printable range) is the fallback.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise InvalidPayload(
            f"the file is neither UTF-8 nor Windows-1252 (byte {utf8_error.start}); "
            "save it as UTF-8 and import again"
        ) from utf8_error


def csv_rows(stream: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (first line number, row) for each record; quoted fields may span lines."""
    reader = csv.DictReader(stream)
    _ = reader.fieldnames  # read the header first, so the first line number is right
    line = reader.line_num + 1
    for row in reader:
        yield line, {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        line = reader.line_num + 1


def write_rows(
    sessions: sessionmaker[Session],
    rows: Iterable[tuple[int, dict]],
    write: Callable,
    report: ImportReport,
    progress: Progress | None,
) -> ImportReport:
    """Write rows in batches, each in a savepoint, so one bad row never spoils the others."""
    session = sessions()
    try:
        for count, (line, row) in enumerate(rows, start=1):
            try:
                with session.begin_nested():
                    write(session, line, row)
                report.written += 1
            except InvalidPayload as exc:
                for name, reason in (exc.fields or {"": exc.message}).items():
                    report.problems.append(Problem(line, name, reason, written=False))
            if count % BATCH == 0:
                session.commit()
                if progress:
                    progress(count)
        session.commit()
    finally:
        session.close()
    return report


