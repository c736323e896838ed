"""A cluster's node list (FGD's openb node lists, PAI 2020's machine spec): per node its GPUs,
GPU model, CPU cores and memory."""
from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .csvfile import csv_errors
from .filecache import cached_by_file
from .traces.rows import BadRow, number, read_text


@dataclass(frozen=True)
class NodeList:
    name: np.ndarray          # object
    gpus: np.ndarray          # int64 GPUs on the node (0 for CPU-only nodes)
    model: np.ndarray         # object GPU model ('' for CPU-only nodes)
    cpu_cores: np.ndarray     # float64
    memory_gib: np.ndarray    # float64
    source: str

    def matching(self, gpus_per_node: int, models=None) -> np.ndarray:
        """Which nodes have `gpus_per_node` GPUs of one of `models` (any model when None)."""
        keep = self.gpus == gpus_per_node
        if models:
            keep &= np.isin(self.model, list(models))
        return keep

    def shape(self) -> dict[str, dict[int, int]]:
        """GPU nodes by model and GPUs per node: {model: {gpus_per_node: nodes}}."""
        out: dict[str, dict[int, int]] = {}
        for model, gpus in zip(self.model.tolist(), self.gpus.tolist()):
            if gpus > 0:
                by_size = out.setdefault(model, {})
                by_size[gpus] = by_size.get(gpus, 0) + 1
        return {m: dict(sorted(v.items())) for m, v in sorted(out.items())}


@cached_by_file(maxsize=16)
def load_node_list(path: str) -> NodeList:
    """A cluster's node list: FGD's openb node lists (header `sn,cpu_milli,memory_mib,gpu,model`)
    or PAI 2020's machine spec (no header: machine, gpu_type, cap_cpu, cap_mem GB, cap_gpu).
    Raises ConfigError."""
    lines = read_text(path).splitlines()
    reader = csv.reader(lines)
    with csv_errors(path, reader):
        first = next(reader, None)
    if first is None:
        raise ConfigError(f"{path}: empty node list")
    openb = first[:1] == ["sn"]
    if openb and any(c not in first for c in ("sn", "cpu_milli", "memory_mib", "gpu", "model")):
        raise ConfigError(f"{path}: line 1: expected the columns sn, cpu_milli, memory_mib, gpu, model")
    index = {c: first.index(c) for c in first} if openb else None
    rows = reader if openb else csv.reader(lines)
    name, gpus, model, cpu, mem = [], [], [], [], []
    with csv_errors(path, rows):
        for row in rows:
            line = rows.line_num
            if not row:
                continue
            try:
                if openb:
                    if len(row) != len(first):
                        raise BadRow(f"expected {len(first)} comma-separated fields, got {len(row)}")
                    r = {c: row[i].strip() for c, i in index.items()}
                    n, g, mo = r["sn"], number(r["gpu"], "gpu", whole=True, minimum=0), r["model"]
                    c = number(r["cpu_milli"], "cpu_milli", minimum=0) / 1000.0
                    m = number(r["memory_mib"], "memory_mib", minimum=0) / 1024.0
                else:
                    if len(row) != 5:
                        raise BadRow(f"expected 5 comma-separated fields (machine, gpu_type, cap_cpu, cap_mem, "
                                     f"cap_gpu), got {len(row)}")
                    n, mo = row[0].strip(), row[1].strip()
                    c = number(row[2], "cap_cpu", minimum=0)
                    m = number(row[3], "cap_mem", minimum=0)
                    g = number(row[4], "cap_gpu", whole=True, minimum=0)
                    mo = "" if g == 0 else mo
            except BadRow as exc:
                raise ConfigError(f"{path}: line {line}: {exc}") from None
            name.append(n)
            gpus.append(int(g))
            model.append(mo)
            cpu.append(c)
            mem.append(m)
    return NodeList(np.asarray(name, object), np.asarray(gpus, np.int64), np.asarray(model, object),
                    np.asarray(cpu, np.float64), np.asarray(mem, np.float64), path)
