"""Functional duplicates: children that differ from an earlier program only in
parameters whose ``when`` condition fails (``MAX_DEPTH`` changed while ``MODEL =
"svm"``). They would run the same program, so the loop records them as duplicates.

The index maps each program's key (:func:`~evoforge.proposers.sites.program_key`:
the content address without its inactive parameters) to the first candidate that
had it; it is built from the archive on first use, so a resumed run knows every
earlier program. Programs without conditions are never indexed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evoforge.archive import Archive
from evoforge.candidate import Files, Status
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.sites import find_sites, program_key


def has_conditions(files: Files) -> bool:
    try:
        return any(site.when for site in find_sites(files))
    except ParamSpecError:
        return False


@dataclass
class Twins:
    archive: Archive
    _first: dict[str, int] | None = field(default=None, init=False)

    def earlier(self, files: Files) -> int | None:
        """The first candidate whose program does what ``files`` does, if any."""
        return self._index().get(program_key(files))

    def add(self, files: Files, candidate_id: int) -> None:
        self._index().setdefault(program_key(files), candidate_id)

    def _index(self) -> dict[str, int]:
        if self._first is None:
            self._first = {}
            seen: set[str] = set()
            for cand in self.archive.candidates():
                if cand.status is Status.REJECTED or cand.code_hash in seen:
                    continue
                seen.add(cand.code_hash)
                key = program_key(self.archive.get_code(cand.code_hash))
                self._first.setdefault(key, cand.id)
        return self._first
