"""A file's physical lines read column-wise, a chunk at a time: one Arrow string per line.

Grain: one physical line of one file, as data.import_read.PhysicalLines numbers it (the header
is line 1, a blank line keeps its number). Lines come in chunks of about CHUNK bytes (cut at a
line break), each line held without its line break; a line over the mapping's max_line_length
is held as its first MAX_RAW characters, as PhysicalLines gives it. So no more than a chunk or
two is ever held, whatever the size of the file.

Most lines of an export are plain: no quote, NUL or carriage return inside, and shorter than
max_line_length. The record reader (data.import_read.Records) splits such a line on the
delimiter and nothing else, so the bulk checks (data/import_bulk.py) split them in SQL the same
way. Every other line, and the lines a record started on it takes (a quoted value over several
lines, the lines read again after a stray quote), is read here by that same record reader, fed
the same Line values PhysicalLines gives it: those records are its records.

`line_break` answers None for a file this module cannot prove it splits into the lines
PhysicalLines gives (not UTF-8, a lone CR as the line break, LF and CRLF mixed): the whole file
then goes through the per-row reader, which reads or refuses it in its own words.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data.import_read import BLOCK, MAX_RAW, Line, Record, Records, Source

UTF8 = ("utf-8", "utf-8-sig")  # the codecs whose lines are read here
CHUNK = 1 << 22  # bytes of lines split and checked at a time
READ = 1 << 20  # bytes read at a time
SPACE, QUOTE = 0x20, 0x22


def line_break(source: Source, encoding: str) -> str | None:
    """The file's line break ("\\n" or "\\r\\n", the same on every line), or None when the
    file's lines are not read here: not UTF-8 text, a lone CR first, LF and CRLF mixed, or no
    line break at all. One pass over the file, a block at a time."""
    if encoding not in UTF8:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    n_lf = n_crlf = 0
    first: bytes | None = None  # the first line break
    last = b""  # the block before's last byte (a CRLF cut between two blocks)
    with source.open() as f:
        try:
            for block in iter(lambda: f.read(BLOCK), b""):
                decoder.decode(block)
                n_lf += block.count(b"\n")
                n_crlf += block.count(b"\r\n") + (last == b"\r" and block[:1] == b"\n")
                if first is None:  # as PhysicalLines decides its line break
                    if last == b"\r":
                        first = b"\r\n" if block[:1] == b"\n" else b"\r"
                    else:
                        lf, cr = block.find(b"\n"), block.find(b"\r")
                        if cr != -1 and (lf == -1 or cr < lf):
                            after = block[cr + 1 : cr + 2]  # empty: the next block decides
                            first = b"\r\n" if after == b"\n" else (b"\r" if after else None)
                        elif lf != -1:
                            first = b"\n"
                last = block[-1:]
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    if first is None and last == b"\r":
        first = b"\r"  # the file's only line break is a CR at its end
    if first in (None, b"\r") or n_crlf not in (0, n_lf):
        return None
    return "\r\n" if n_crlf else "\n"


@dataclass
class Chunk:
    """Consecutive physical lines: `parts`, each without its line break, the first at file
    index `first` (line first + 1); `heads`: the lines over max_line_length, by their index in
    the chunk, as their first MAX_RAW characters (`parts` holds them empty); `ends_with_break`:
    whether the chunk's last line ends with a line break (only the file's last line may not);
    `plain`: per line, whether it is plain (plain_lines)."""

    parts: pa.LargeStringArray
    first: int
    newline: str
    ends_with_break: bool
    heads: dict[int, str] = field(default_factory=dict)
    plain: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.parts)

    @property
    def end(self) -> int:
        """The file index after its last line."""
        return self.first + len(self.parts)

    def line(self, index: int, max_length: int) -> Line:
        """The Line PhysicalLines gives for the line at file index `index`: its text with its
        line break, or its first MAX_RAW characters marked too long."""
        at = index - self.first
        if at in self.heads:
            return Line(index + 1, self.heads[at], True)
        part = self.parts[at].as_py()
        if len(part) + (len(self.newline) - 1) > max_length:  # a CRLF line's CR is in its text
            return Line(index + 1, part[:MAX_RAW], True)
        last = at == len(self.parts) - 1 and not self.ends_with_break
        return Line(index + 1, part if last else part + self.newline, False)


def chunks(source: Source, newline: str, delimiter: str, max_length: int) -> Iterator[Chunk]:
    """The file's lines, CHUNK bytes or so at a time (a file line_break reads)."""
    cap = 4 * (max_length + 2)  # bytes: a line longer than this is longer than max_length characters
    first = 0  # the file index of the first line not yet given
    pending: list[bytes] = []  # what was read since the last chunk was cut
    n_pending = 0
    line_bytes = 0  # of the line being read, so far
    heads: dict[int, str] = {}
    skipping = False  # inside an over-long line, dropping it up to its line break
    brk = newline.encode()  # what ends an over-long line kept as its head

    def cut(data: memoryview, final: bool) -> Chunk:
        nonlocal first, heads
        offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
        whole = pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data))
        parts = pc.split_pattern(whole, newline).values
        ends = data[-1:] == b"\n"
        if ends:
            parts = parts.slice(0, len(parts) - 1)  # the empty text after the last line break
        chunk = Chunk(parts, first, newline, ends or not final, heads)
        chunk.plain = plain_lines(chunk, delimiter, max_length - (len(newline) - 1))
        first, heads = chunk.end, {}
        return chunk

    with source.open() as f:
        for block in iter(lambda: f.read(READ), b""):
            if skipping:
                at = block.find(b"\n")
                if at == -1:
                    continue
                skipping, block = False, block[at + 1 :]
            pending.append(block)
            n_pending += len(block)
            last_break = block.rfind(b"\n")
            line_bytes = len(block) - 1 - last_break if last_break != -1 else line_bytes + len(block)
            if line_bytes > cap:
                # No line break for more than `cap` bytes: the line is over-long. Its head is
                # kept, the rest dropped up to its line break, as PhysicalLines does; here it is
                # an empty line (its break, `brk`) with its head in `heads`.
                data = b"".join(pending)
                start = len(data) - line_bytes
                heads[data.count(b"\n", 0, start)] = data[start : start + 4 * MAX_RAW].decode(
                    "utf-8", "ignore"
                )[:MAX_RAW]
                pending, n_pending, line_bytes, skipping = [data[:start], brk], start + len(brk), 0, True
                del data
                continue
            if n_pending >= CHUNK and last_break != -1:
                data = b"".join(pending)
                end = len(data) - line_bytes
                rest = data[end:]
                yield cut(memoryview(data)[:end], final=False)
                del data
                pending, n_pending = [rest], len(rest)
        data = b"".join(pending)
        if data:
            yield cut(memoryview(data), final=True)


def plain_lines(chunk: Chunk, delimiter: str, max_length: int) -> np.ndarray:
    """Per line, whether it is plain: the record reader splits it on the delimiter alone (no
    quote, NUL or carriage return, shorter than max_length with its line break), and SQL reads
    its values as Python does: printable ASCII (and the delimiter), no space at either end of a
    value. Blank lines count as plain (the reader reads them as no fields; the bulk checks skip
    them too). Computed on the bytes, with numpy: a few passes over the chunk, not one a line."""
    parts = chunk.parts
    plain = np.ones(len(parts), dtype=bool)
    plain[list(chunk.heads)] = False
    if len(parts) == 0 or parts.buffers()[2] is None:
        return plain  # no text at all: blank lines only
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
    plain[np.searchsorted(offsets, bad, side="right") - 1] = False
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    plain[filled & (data[np.minimum(starts, len(data) - 1)] == SPACE)] = False  # a space first
    plain[filled & (data[np.maximum(ends - 1, 0)] == SPACE)] = False  # or last
    plain[(ends - starts) >= max_length] = False
    return plain


class Window:
    """The chunks of a file being read: the one the bulk checks are on (`current`), and the
    ones after it the record reader has reached, dropped once it is past them."""

    def __init__(self, chunks: Iterator[Chunk]) -> None:
        self.chunks = chunks
        self.loaded: list[Chunk] = []
        self.done = False

    def advance(self) -> Chunk | None:
        """The next chunk to check: the one after `current`, or the one the reader reached."""
        if len(self.loaded) > 1:
            self.loaded = self.loaded[-1:]
        elif self.loaded:
            self.loaded = []
        if not self.loaded and not self._load():
            return None
        return self.loaded[0]

    def _load(self) -> bool:
        if self.done:
            return False
        chunk = next(self.chunks, None)
        if chunk is None:
            self.done = True
            return False
        self.loaded.append(chunk)
        return True

    def chunk(self, index: int) -> Chunk | None:
        """The chunk holding file index `index` (loading chunks up to it), None past the end.
        Chunks between `current` and it are dropped: the reader only moves on."""
        while self.loaded[-1].end <= index:
            if not self._load():
                return None
            if len(self.loaded) > 2:
                del self.loaded[1]
        return self.loaded[-1] if index >= self.loaded[-1].first else self.loaded[0]


def reader_records(
    window: Window,
    taken: np.ndarray,
    reached: list[int],
    delimiter: str,
    max_length: int,
    max_lines: int,
    n_fields: int,
) -> Iterator[Record]:
    """The records the record reader reads from the lines of the window's current chunk at or
    after file index `reached[0]` that are not plain, marking in `taken` (the current chunk's
    lines) every line they take there; `reached[0]` becomes the file index after the last line
    they took (past the chunk's end when the reader went on into the chunks after).

    From each such line the reader is fed the lines that follow, as PhysicalLines would (into
    the chunks after, if need be), until a record ends with nothing put back and the next line
    is plain: from there on the reader would only split plain lines, as the bulk checks do."""
    current = window.loaded[0]
    start = covered = reached[0]
    for at in np.flatnonzero(~current.plain[start - current.first :]) + (start - current.first):
        first = int(at) + current.first
        if first < covered:
            continue  # taken already, by a record that started on an earlier line
        pos = first

        def feed() -> Iterator[Line]:
            nonlocal pos
            while (chunk := window.chunk(pos)) is not None:
                index = pos
                pos += 1
                yield chunk.line(index, max_length)

        records = Records(feed(), delimiter, max_length, max_lines)
        records.n_fields = n_fields
        for record in records:
            taken[first - current.first : pos - current.first] = True
            yield record
            if not records.feed.back:
                nxt = window.chunk(pos)
                if nxt is None or nxt.plain[pos - nxt.first]:
                    break
        taken[first - current.first : pos - current.first] = True
        covered = reached[0] = pos
        if covered >= current.end:
            break  # the reader went on into the chunks after: the rest of this one is its


def plain_tables(
    window: Window, start: int, on_record, delimiter: str, max_length: int, max_lines: int, n_fields: int
) -> Iterator[pa.Table]:
    """Per chunk of the lines from file index `start` on: first the record reader's records
    (each given to `on_record`), then the table of the chunk's plain lines no record took
    (row_number: the physical line; part: its text without its line break)."""
    while (current := window.advance()) is not None:
        if current.end <= start:
            continue  # the header's lines
        taken = np.zeros(len(current), dtype=bool)
        taken[: max(start - current.first, 0)] = True  # taken by a record begun in a chunk before
        reached = [max(start, current.first)]
        for record in reader_records(window, taken, reached, delimiter, max_length, max_lines, n_fields):
            on_record(record)
        index = np.flatnonzero(current.plain & ~taken)
        yield pa.table(
            {"row_number": pa.array(index + current.first + 1, pa.int64()), "part": current.parts.take(index)}
        )
        start = reached[0]
