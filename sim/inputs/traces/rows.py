"""The one table every trace format reads into (`Trace`), and the row reading they share:
text of a plain or gzip-compressed file, numbers checked field by field, CSV rows with their
line numbers, bad rows raised or counted (`skip_bad_rows`)."""
from __future__ import annotations

import csv
import gzip
import math
import zlib
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from ..csvfile import csv_errors


@dataclass(frozen=True)
class Trace:
    submit_s: np.ndarray        # float64 seconds, any origin (the replay offsets to the first job)
    duration_s: np.ndarray      # float64 run time in seconds, as recorded
    gpus: np.ndarray            # int64 whole GPUs (>= 1)
    tenant: np.ndarray          # object array of str: virtual cluster / user / queue, as the format has it
    runtime_estimate_s: np.ndarray  # float64, nan where the trace has none
    status: np.ndarray          # object array of str (e.g. completed, failed, cancelled, unknown)
    nodes: np.ndarray           # int64 node count, -1 where unknown
    rows_skipped: int           # bad rows skipped (only with skip_bad_rows=True)
    source: str                 # the file path
    wait_s: np.ndarray | None = None   # float64 recorded wait (start - submit), nan where not recorded
    rows_left_out: int = 0      # well-formed rows that are not GPU jobs to replay (see the module doc)
    clock_origin_s: float | None = None  # local wall-clock time at submit_s == 0, as seconds since
                                         # 1970-01-01; None when the trace has no calendar
    # what a GPU-sharing pod asks (alibaba_openb; other formats: whole GPUs, no CPU or memory)
    gpu_milli: np.ndarray | None = None   # int64 thousandths of each GPU: 1000 whole, less to share one
    cpu_milli: np.ndarray | None = None   # int64 thousandths of a CPU core
    memory_mib: np.ndarray | None = None  # int64

    @property
    def shares_gpus(self) -> bool:
        return self.gpu_milli is not None and bool((self.gpu_milli < 1000).any())

    def __len__(self) -> int:
        return int(self.submit_s.size)


class BadRow(Exception):
    """A bad row: the message says which field and what was expected."""


def read_text(path: str) -> str:
    """The file's text, gunzipped when it is gzip. Raises ConfigError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read trace: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ConfigError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text (byte {exc.start})") from None


def number(text: str, what: str, *, whole: bool = False, minimum: float | None = None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadRow(f"{what}: expected a {'whole number' if whole else 'number'}, got {text!r}") from None
    if not math.isfinite(value):
        raise BadRow(f"{what}: expected a finite number, got {text!r}")
    if whole and abs(value) > 2 ** 53:   # past exact integers (and int64 columns)
        raise BadRow(f"{what}: expected a whole number below 2^53, got {text!r}")
    if whole and value != int(value):
        raise BadRow(f"{what}: expected a whole number, got {text!r}")
    if minimum is not None and value < minimum:
        raise BadRow(f"{what}: expected a {'whole ' if whole else ''}number >= {minimum:g}, got {text!r}")
    return value


class Rows:
    """Collects parsed rows; a bad row raises, or is counted when skipping."""

    def __init__(self, path: str, skip_bad_rows: bool):
        self.path = path
        self.skip = skip_bad_rows
        self.skipped = 0
        self.left_out = 0
        self.cols: dict[str, list] = {k: [] for k in ("submit", "duration", "gpus", "tenant", "estimate",
                                                      "status", "nodes", "wait")}
        self.resources: dict[str, list] = {"gpu_milli": [], "cpu_milli": [], "memory_mib": []}

    def bad(self, line: int, message: str) -> None:
        if not self.skip:
            raise ConfigError(f"{self.path}: line {line}: {message}")
        self.skipped += 1

    def add(self, submit, duration, gpus, tenant, estimate, status, nodes, wait) -> None:
        for key, value in zip(self.cols, (submit, duration, gpus, tenant, estimate, status, nodes, wait)):
            self.cols[key].append(value)

    def add_resources(self, gpu_milli: int, cpu_milli: int, memory_mib: int) -> None:
        """What the row just added asks besides GPUs (formats that record it call this for every row)."""
        for key, value in zip(self.resources, (gpu_milli, cpu_milli, memory_mib)):
            self.resources[key].append(value)

    def trace(self, origin_s: float = 0.0, clock_origin_s: float | None = None) -> Trace:
        """The table, with `origin_s` subtracted from every submit time."""
        c = self.cols
        if not c["submit"]:
            why = f" ({self.skipped} bad rows skipped)" if self.skipped else ""
            left = f" ({self.left_out} rows are not GPU jobs)" if self.left_out else ""
            raise ConfigError(f"{self.path}: no jobs to replay in the file{why}{left}")

        def arr(values, dtype):
            a = np.asarray(values, dtype=dtype)
            a.flags.writeable = False  # results are cached and shared: nobody may change them
            return a

        return Trace(submit_s=arr(np.asarray(c["submit"], np.float64) - origin_s, np.float64),
                     duration_s=arr(c["duration"], np.float64), gpus=arr(c["gpus"], np.int64),
                     tenant=arr(c["tenant"], object), runtime_estimate_s=arr(c["estimate"], np.float64),
                     status=arr(c["status"], object), nodes=arr(c["nodes"], np.int64),
                     rows_skipped=self.skipped, source=self.path, wait_s=arr(c["wait"], np.float64),
                     rows_left_out=self.left_out,
                     clock_origin_s=clock_origin_s,
                     **{k: arr(v, np.int64) if v else None for k, v in self.resources.items()})


def csv_rows(path: str, required: tuple[str, ...], what: str):
    """(line number, {column: text}) for each data row; checks the header and field count."""
    lines = read_text(path).splitlines()
    reader = csv.reader(lines)
    with csv_errors(path, reader):
        header = next(reader, None)
        if header is None or any(name not in header for name in required):
            missing = [name for name in required if header is None or name not in header]
            raise ConfigError(f"{path}: line 1: expected a {what} header with columns {', '.join(required)} "
                              f"(missing {', '.join(missing)})")
        index = {name: header.index(name) for name in header}
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                yield line, BadRow(f"expected {len(header)} comma-separated fields, got {len(row)}")
                continue
            yield line, {name: row[i].strip() for name, i in index.items()}
