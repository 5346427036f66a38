"""A file's physical lines read column-wise: one Arrow string per line, line n at index n - 1.

Grain: one physical line of one file, as data.import_read.PhysicalLines numbers it (the header
is line 1, a blank line keeps its number). Each line is held without its "\\n"; a CRLF line
keeps its "\\r", as PhysicalLines keeps it in the line's text.

Most lines of an export are plain: no quote, NUL or carriage return inside, and shorter than the
mapping's max_line_length. The record reader (data.import_read.Records) splits such a line on
the delimiter and nothing else, so the bulk checks (data/import_bulk.py) split them in SQL the
same way. Every other line, and the lines a record started on it takes (a quoted value over
several lines, the lines read again after a stray quote), is read here by that same record
reader, fed the same Line values PhysicalLines gives it: those records are its records.

`read_lines` answers None for a file this module cannot prove it splits into the lines
PhysicalLines gives (not UTF-8, a lone CR as the line break, bytes that are not text): the whole
file then goes through the per-row reader, which reads or refuses it in its own words.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data.import_read import BLOCK, MAX_RAW, Line, Record, Records, Source

UTF8 = ("utf-8", "utf-8-sig")  # the codecs whose lines are read here
SPACE, QUOTE = 0x20, 0x22


@dataclass
class FileLines:
    """The physical lines of one file: `parts`, each without its line break (`newline`, the
    same for every line); whether the last one ends with a line break (the others all do);
    and per line whether it is `plain` (see plain_lines)."""

    parts: pa.LargeStringArray
    newline: str
    ends_with_break: bool
    plain: np.ndarray

    def __len__(self) -> int:
        return len(self.parts)

    def line(self, index: int, max_length: int) -> Line:
        """The Line PhysicalLines gives for the line at `index`: its text with its line break,
        or its first MAX_RAW characters marked too long."""
        part = self.parts[index].as_py()
        if len(part) + (len(self.newline) - 1) > max_length:  # a CRLF line's CR is in its text
            return Line(index + 1, part[:MAX_RAW], True)
        last = index == len(self.parts) - 1 and not self.ends_with_break
        return Line(index + 1, part if last else part + self.newline, False)


def _is_utf8(data: bytes) -> bool:
    """Python's own strict check, a block at a time (no copy of the whole text): the per-row
    reader refuses exactly the files this refuses."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(data)
    try:
        for start in range(0, len(data), BLOCK):
            decoder.decode(view[start : start + BLOCK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def read_lines(source: Source, encoding: str, delimiter: str, max_length: int) -> FileLines | None:
    """The file's lines, or None when PhysicalLines might split it otherwise (see the module)."""
    if encoding not in UTF8:
        return None
    with source.open() as f:
        data = f.read()
    lf, cr = data.find(b"\n"), data.find(b"\r")
    if lf == -1:
        return None  # one line at most: nothing to read in bulk
    if cr != -1 and cr < lf and data[cr + 1 : cr + 2] != b"\n":
        return None  # the first line break is a lone CR: PhysicalLines splits on CR (old Mac)
    n_lf, n_crlf = data.count(b"\n"), data.count(b"\r\n")
    if n_crlf not in (0, n_lf):
        return None  # LF and CRLF both: keep the per-row reader's view of each line's text
    if not _is_utf8(data):
        return None
    newline = "\r\n" if n_crlf else "\n"
    data_ends_with_break = data.endswith(b"\n")
    offsets = pa.array([0, len(data)], pa.int64())
    whole = pa.LargeStringArray.from_buffers(1, offsets.buffers()[1], pa.py_buffer(data))
    del data
    parts = pc.split_pattern(whole, newline).values
    del whole
    plain = plain_lines(parts, delimiter, max_length - (len(newline) - 1))
    ends_with_break = data_ends_with_break  # then the text after the last break is empty
    if ends_with_break:
        parts, plain = parts.slice(0, len(parts) - 1), plain[:-1]
    return FileLines(parts, newline, ends_with_break, plain)


def plain_lines(parts: pa.LargeStringArray, delimiter: str, max_length: int) -> np.ndarray:
    """Per line, whether it is plain: the record reader splits it on the delimiter alone (no
    quote, NUL or carriage return, shorter than max_length with its line break), and SQL reads
    its values as Python does: printable ASCII (and the delimiter), no space at either end of a
    value. Blank lines count as plain (the reader reads them as no fields; the bulk checks skip
    them too). Computed on the bytes, with numpy: a few passes over the file, not one a line."""
    if len(parts) == 0 or parts.buffers()[2] is None:
        return np.ones(len(parts), dtype=bool)  # no text at all: blank lines only
    data = np.frombuffer(parts.buffers()[2], dtype=np.uint8)
    offsets = np.frombuffer(parts.buffers()[1], dtype=np.int64)[parts.offset : parts.offset + len(parts) + 1]
    delim = ord(delimiter)
    odd = (data < SPACE) | (data > 0x7E) | (data == QUOTE)
    if delim < SPACE:
        odd &= data != delim
    spaces = np.flatnonzero(data == SPACE)
    after, before = spaces + 1, spaces - 1
    padded = spaces[
        (after < len(data)) & (data[np.minimum(after, len(data) - 1)] == delim)
        | (before >= 0) & (data[np.maximum(before, 0)] == delim)
    ]
    bad = np.concatenate([np.flatnonzero(odd), padded])
    plain = np.ones(len(parts), dtype=bool)
    plain[np.searchsorted(offsets, bad, side="right") - 1] = False
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    plain[filled & (data[np.minimum(starts, max(len(data) - 1, 0))] == SPACE)] = False  # a space first
    plain[filled & (data[np.maximum(ends - 1, 0)] == SPACE)] = False  # or last
    plain[(ends - starts) >= max_length] = False
    return plain


def reader_records(
    lines: FileLines,
    taken: np.ndarray,
    start: int,
    delimiter: str,
    max_length: int,
    max_lines: int,
    n_fields: int,
) -> Iterator[Record]:
    """The records the record reader reads from the lines at or after index `start` that are
    not plain, marking in `taken` every line they take.

    From each such line the reader is fed the lines that follow, as PhysicalLines would, until
    a record ends with nothing put back and the next line is plain: from there on the reader
    would only split plain lines, as the bulk checks do."""
    n, plain = len(lines), lines.plain
    covered = start
    for first in np.flatnonzero(~plain[start:]) + start:
        if first < covered:
            continue  # taken already, by a record that started on an earlier line
        pos = int(first)

        def feed() -> Iterator[Line]:
            nonlocal pos
            while pos < n:
                index = pos
                pos += 1
                yield lines.line(index, max_length)

        records = Records(feed(), delimiter, max_length, max_lines)
        records.n_fields = n_fields
        for record in records:
            taken[first:pos] = True  # before the record is used: the lines it took are its
            yield record
            if not records.feed.back and (pos >= n or plain[pos]):
                break
        taken[first:pos] = True
        covered = pos
