"""An independent, loop-by-loop port of the FGD paper's simulator scores (Go,
hkust-adsl/kubernetes-scheduler-simulator at 8f3d641: pkg/simulator/plugin/*_score.go,
pkg/utils/frag.go, open_gpu_share.go), one node at a time in plain Python, to check the array
rules of sim.engine.packing choice by choice. A node is a dict: cpu, mem, gpus (free
thousandths per GPU), model, tags (count of requests per tag)."""
from __future__ import annotations

import math

MILLI, MAX_CPU, MAX_GPU = 1000, 128_000, 8000


def fits(node, r) -> bool:
    if node["cpu"] < r.cpu or node["mem"] < r.memory:
        return False
    if not r.gpus:
        return True
    if not node["gpus"] or (r.models and node["model"] not in r.models):
        return False
    return sum(1 for g in node["gpus"] if g >= r.milli) >= r.gpus


def best_fit(node, r) -> int:
    s = 0.5 * (node["cpu"] - r.cpu) / MAX_CPU + 0.5 * (sum(node["gpus"]) - r.total_milli) / MAX_GPU
    return int((1.0 - s) * 100)


def dot_product(node, r) -> int:
    dot = node["cpu"] / MAX_CPU * r.cpu / MAX_CPU + sum(node["gpus"]) / MAX_GPU * r.total_milli / MAX_GPU
    return int(100 * (1 - dot / 2))


def gpu_packing(node, r) -> int:
    if r.milli <= 0 or not r.gpus:
        return 0
    free = node["gpus"]
    whole = sum(1 for g in free if g == MILLI)
    if whole == len(free):
        return max(100 // 3 - whole, whole)
    order = sorted(range(len(free)), key=lambda i: free[i])      # stable, least free first
    need, whole_used, use = r.gpus, 0, []
    for i in order:
        if need == 0:
            break
        if r.milli <= free[i]:
            need -= 1
            use.append(i)
            if free[i] == MILLI:
                whole_used += 1
    if whole_used > 0:
        return max(100 // 2 - whole_used, 100 // 3)
    ratio = sum(free[i] * 100 // MILLI for i in use)
    return max(100 - ratio // 10, 100 // 2)


def gpu_clustering(node, r) -> int:
    if not r.gpus:
        return 0
    left = sum(node["gpus"])
    fill = 25 * (MAX_GPU - left) // MAX_GPU
    kinds = [t for t, n in node["tags"].items() if n > 0]
    if node["tags"].get(r.tag, 0) > 0:
        return fill + (75 if len(kinds) == 1 else 50)
    return fill + (25 if not kinds else 0)


def node_frag(cpu, gpus, model, typical) -> float:
    """NodeGpuShareFragAmountScore: sum over typical kinds of popularity x unusable GPU."""
    total = sum(gpus)
    out = 0.0
    for (kcpu, kgpus, kmilli, kmodels), p in typical:
        if kmilli == 0:
            out += p * total                                   # XL / XR: all of it
            continue
        if kmodels and model not in kmodels:
            out += p * total                                   # no access
            continue
        can = sum(1 for g in gpus if g >= kmilli) >= kgpus
        if can and cpu >= kcpu:                                # Q3: the GPUs too small for it
            out += p * sum(g for g in gpus if g < kmilli)
        else:
            out += p * total
    return out


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def fgd(node, r, typical) -> tuple[int, int]:
    """(score, GPU for a shared request or -1)."""
    before = node_frag(node["cpu"], node["gpus"], node["model"], typical)
    if r.shares_gpu:
        score, gpu = 0, -1
        for i, g in enumerate(node["gpus"]):
            if g >= r.milli:
                after = list(node["gpus"])
                after[i] -= r.milli
                s = int(sigmoid((before - node_frag(node["cpu"] - r.cpu, after, node["model"], typical)) / 1000) * 100)
                if gpu == -1 or s > score:
                    score, gpu = s, i
        return score, gpu
    after = list(node["gpus"])
    need = r.gpus
    for i in sorted(range(len(after)), key=lambda i: after[i]):   # NodeResource.Sub
        if need and r.milli <= after[i]:
            after[i] -= r.milli
            need -= 1
    s = int(sigmoid((before - node_frag(node["cpu"] - r.cpu, after, node["model"], typical)) / 1000) * 100)
    return s, -1


def choose_gpus(node, r, rule_gpu: int) -> tuple[int, ...]:
    if r.shares_gpu:
        if rule_gpu >= 0:
            return (rule_gpu,)
        best = -1
        for i, g in enumerate(node["gpus"]):                     # allocateGpuIdBasedOnBestFit
            if g >= r.milli and (best == -1 or g < node["gpus"][best]):
                best = i
        return (best,)
    return tuple(i for i, g in enumerate(node["gpus"]) if g == MILLI)[:r.gpus]


def place(nodes: list[dict], r, rule: str, typical) -> tuple[int, tuple[int, ...]] | None:
    """The node and GPUs the reference picks (highest score, the first node on ties); taken."""
    best, best_score, best_gpu = None, None, -1
    for n, node in enumerate(nodes):
        if not fits(node, r):
            continue
        gpu = -1
        if rule == "fgd":
            score, gpu = fgd(node, r, typical)
        elif rule == "first_fit":
            score = 0
        else:
            score = {"best_fit": best_fit, "dot_product": dot_product, "gpu_packing": gpu_packing,
                     "gpu_clustering": gpu_clustering}[rule](node, r)
        if best_score is None or score > best_score:
            best, best_score, best_gpu = n, score, gpu
    if best is None:
        return None
    node = nodes[best]
    ids = choose_gpus(node, r, best_gpu)
    node["cpu"] -= r.cpu
    node["mem"] -= r.memory
    for i in ids:
        node["gpus"][i] -= r.milli
    if r.gpus:
        node["tags"][r.tag] = node["tags"].get(r.tag, 0) + 1
    return best, ids
