"""Offline arena planner: execution order, in-place ops and tensor offsets.

The runtime gets one arena of `arena_size` bytes and puts every activation
(model inputs and outputs included) at the offset written in the blob, so all
the cleverness lives here, on the PC, where it can afford to search.

Terms
-----
- buffer: storage of one activation. Aliases (RESHAPE/SQUEEZE/EXPAND_DIMS) are
  merged before planning: they are one buffer. Sizes are rounded up to
  ALIGN (8) bytes so every offset is 8-byte aligned.
- step s: the execution of the s-th op of the chosen order. A buffer is live
  from the step that writes it (step 0 for model inputs) to the last step that
  reads it (the last step for model outputs). An op's inputs and outputs are
  live at its step, because in general a kernel reads inputs while writing
  outputs.
- scratch: the working memory of one op (a kernel's `_scratch_size()`,
  converter/tinyml_converter/scratch.py) is a buffer that op both writes and
  reads, so it is live at that op's step only and placed like any other.
- in place: an op flagged `inplace` (an element-wise op, which reads each
  element before writing it: LUT over its input, ADD, MUL and the like over
  an input of the output's shape) may write its output over such an input
  when that input is read by no later op and is not a model output; the two
  then form one buffer.

Lower bound
-----------
For a given order, LB(order) = max over steps of the sum of the sizes of the
buffers live at that step. No placement can beat it, since buffers live at the
same step must be disjoint. The planner minimises LB over orders and then
looks for a placement reaching it.

Step 1: execution order
-----------------------
Any topological order of the ops is valid. The live set right before an op
depends only on the *set* S of ops already executed (a buffer is live if it
exists and some op outside S still reads it, or it is a model output), so the
minimum possible peak is a bottleneck shortest path over the down-sets of the
DAG: best[S + {k}] = min(max(best[S], mem(S, k))). This dynamic programme is
exact; it runs breadth-first over |S| and gives up when a layer holds more
than MAX_DP_STATES sets (wide graphs), falling back to a greedy heuristic
(always run the ready op that needs the least memory now, ties to the one
that frees most, then to the original order). The original TFLite order is
always a candidate and wins ties, so a chain keeps its order.

Step 2: placement (dynamic storage allocation on intervals)
-----------------------------------------------------------
Given lifetimes and sizes, give each buffer an offset so that buffers live at
a common step do not overlap, minimising the arena (max offset + size).
1. Greedy first fit, as TFLM's GreedyMemoryPlanner but with several orders:
   by size (largest first), by first use, by lifetime length, by
   size x lifetime. Each buffer goes to the lowest offset where it does not
   collide with an already placed buffer whose lifetime overlaps. The first
   strategy reaching LB wins at once.
2. Otherwise an exact branch and bound. Claim: some optimal placement is
   produced by taking the buffers in increasing-offset order and putting each
   at its lowest feasible offset given those before it (sliding a buffer down
   never collides with a buffer above it, so compacting an optimal placement
   this way keeps it valid and no taller). The search therefore branches on
   *which* buffer comes next, places it first-fit, prunes any branch whose
   height already reaches the best found, and stops at LB, or when its budget
   of nodes runs out (then the best greedy or partial-search result stands,
   and `optimal` tells whether the result is proven optimal).

Every budget counts work (nodes expanded, buffers placed), never time, and
the random choices come from a fixed seed: the same model gives the same
plan, and so the same blob, on any machine however loaded.

The result records the order, offsets, lifetimes, in-place ops, LB and the
arena size; `simulate()` re-checks any plan step by step (used by the tests).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from .errors import ConversionError

ALIGN = 8
MAX_DP_STATES = 20000
BB_NODE_BUDGET = 200000
RANDOM_GREEDY_PLACEMENTS = 100000  # randomised greedy passes x buffers per pass


class PlanCheckError(ConversionError):
    """The plan failed its own re-check: a bug in the planner, never the model's fault."""


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class Problem:
    sizes: list                 # bytes per buffer
    op_inputs: list             # per op: buffer ids read
    op_outputs: list            # per op: buffer ids written
    graph_inputs: list = field(default_factory=list)
    graph_outputs: list = field(default_factory=list)
    inplace: list = None        # per op: True (its first input) or the input buffers it may write its output over


@dataclass
class Plan:
    order: list                 # op indices in execution order
    offsets: list               # per buffer
    arena_size: int
    lower_bound: int
    lifetimes: list             # per buffer: (first step, last step)
    inplace_ops: dict           # op -> the input buffer whose storage its output shares
    strategy: str
    optimal: bool


# ---------------------------------------------------------------------------
# lifetimes and in-place decisions for a fixed order

def _analyse(p: Problem, order: list):
    """Lifetimes per buffer, the in-place merges (output -> input buffer) and
    the live size at each step, for one execution order."""
    n = len(order)
    nb = len(p.sizes)
    inplace = p.inplace or [False] * len(p.op_inputs)
    pos = {op: s for s, op in enumerate(order)}
    first = [None] * nb
    last = [None] * nb
    for b in p.graph_inputs:
        first[b] = 0
    for op in order:
        s = pos[op]
        for b in p.op_outputs[op]:
            if first[b] is None:
                first[b] = s
        for b in p.op_inputs[op]:
            last[b] = s if last[b] is None else max(last[b], s)
    end = max(n - 1, 0)
    outs = set(p.graph_outputs)
    for b in range(nb):
        if first[b] is None:
            first[b] = 0
        if b in outs:
            last[b] = end
        if last[b] is None or last[b] < first[b]:
            last[b] = first[b]
    share = list(range(nb))          # buffer -> buffer whose storage it uses
    inplace_ops = {}                 # op -> the input buffer it writes over
    for op in order:
        if len(p.op_outputs[op]) != 1:
            continue
        dst = p.op_outputs[op][0]
        for src in inplace_sources(p, op):
            if (last[src] == pos[op] and src not in outs and align(p.sizes[src]) == align(p.sizes[dst])
                    and share[dst] == dst and dst not in p.graph_inputs):
                share[dst] = share[src]
                inplace_ops[op] = src
                break
    # Intervals of merged storage: union of members' lifetimes.
    groups = {}
    for b in range(nb):
        r = share[b]
        lo, hi = groups.get(r, (first[b], last[b]))
        groups[r] = (min(lo, first[b]), max(hi, last[b]))
    live = [0] * max(n, 1)
    for r, (lo, hi) in groups.items():
        sz = align(p.sizes[r])
        for s in range(lo, hi + 1):
            live[s] += sz
    return list(zip(first, last)), share, groups, inplace_ops, max(live) if live else 0


def inplace_sources(p: Problem, op: int) -> list:
    """The input buffers op may write its output over: `inplace[op]` True
    means its first input, a list names them."""
    flag = p.inplace[op] if p.inplace else False
    if flag is True:
        return p.op_inputs[op][:1]
    return [b for b in (flag or ()) if p.op_inputs[op].count(b) >= 1]


def lower_bound(p: Problem, order: list) -> int:
    return _analyse(p, order)[4]


# ---------------------------------------------------------------------------
# step 1: execution order

def _consumers(p: Problem):
    cons = [set() for _ in p.sizes]
    for op, ins in enumerate(p.op_inputs):
        for b in ins:
            cons[b].add(op)
    return cons


def _producers(p: Problem):
    prod = {}
    for op, outs in enumerate(p.op_outputs):
        for b in outs:
            prod[b] = op
    return prod


def _deps(p: Problem):
    prod = _producers(p)
    return [{prod[b] for b in ins if b in prod and prod[b] != op}
            for op, ins in enumerate(p.op_inputs)]


def _available(p: Problem, done_mask: int) -> set:
    avail = set(p.graph_inputs)
    for k in range(len(p.op_outputs)):
        if done_mask >> k & 1:
            avail.update(p.op_outputs[k])
    return avail


class _StepMemory:
    """Bytes live while an op runs after a set of done ops (a bit mask): the
    order searches ask this hundreds of thousands of times, so consumers are
    kept as bit masks and sizes pre-aligned."""

    def __init__(self, p: Problem):
        n = len(p.op_inputs)
        self.p = p
        self.outs = set(p.graph_outputs)
        self.inplace = p.inplace or [False] * n
        self.size = [align(s) for s in p.sizes]
        self.inputs = [set(ins) for ins in p.op_inputs]
        self.cons_mask = [0] * len(p.sizes)
        for b, ops in enumerate(_consumers(p)):
            for c in ops:
                self.cons_mask[b] |= 1 << c

    def __call__(self, done_mask: int, avail, op: int) -> int:
        p, outs, cons_mask, size = self.p, self.outs, self.cons_mask, self.size
        after = done_mask | (1 << op)
        ins = self.inputs[op]
        total = 0
        seen = set()
        for b in avail:
            if b in outs or b in ins or cons_mask[b] & ~after:
                seen.add(b)
                total += size[b]
        for b in p.op_outputs[op]:
            if b in seen:
                continue
            if len(p.op_outputs[op]) == 1 and any(
                    src not in outs and not cons_mask[src] & ~after and size[src] == size[b]
                    for src in inplace_sources(p, op)):
                continue
            total += size[b]
        return total


def _dp_order(p: Problem):
    n = len(p.op_inputs)
    deps = _deps(p)
    step_memory = _StepMemory(p)
    layer = {0: (0, [])}
    for _ in range(n):
        nxt = {}
        for mask, (peak, order) in layer.items():
            avail = _available(p, mask)
            for k in range(n):
                if mask >> k & 1 or any(not (mask >> d & 1) for d in deps[k]):
                    continue
                m = max(peak, step_memory(mask, avail, k))
                key = mask | (1 << k)
                cur = nxt.get(key)
                if cur is None or m < cur[0]:
                    nxt[key] = (m, order + [k])
        if len(nxt) > MAX_DP_STATES:
            return None
        layer = nxt
    return next(iter(layer.values()))[1] if layer else []


def _greedy_order(p: Problem):
    n = len(p.op_inputs)
    deps = _deps(p)
    cons = _consumers(p)
    outs = set(p.graph_outputs)
    step_memory = _StepMemory(p)
    mask, order = 0, []
    avail = set(p.graph_inputs)
    for _ in range(n):
        best = None
        for k in range(n):
            if mask >> k & 1 or any(not (mask >> d & 1) for d in deps[k]):
                continue
            mem = step_memory(mask, avail, k)
            after = mask | 1 << k
            freed = sum(align(p.sizes[b]) for b in p.op_inputs[k]
                        if b not in outs and all(after >> c & 1 for c in cons[b]))
            made = sum(align(p.sizes[b]) for b in p.op_outputs[k])
            key = (mem, made - freed, k)
            if best is None or key < best[0]:
                best = (key, k)
        mask |= 1 << best[1]
        avail.update(p.op_outputs[best[1]])
        order.append(best[1])
    return order


def choose_order(p: Problem):
    n = len(p.op_inputs)
    original = list(range(n))
    candidates = [("original", original)]
    dp = _dp_order(p) if n <= 64 else None
    if dp is not None:
        candidates.append(("exact order search", dp))
    else:
        candidates.append(("greedy order", _greedy_order(p)))
    best = None
    for name, order in candidates:
        lb = lower_bound(p, order)
        if best is None or lb < best[0]:
            best = (lb, name, order)
    return best[2], best[1]


# ---------------------------------------------------------------------------
# step 2: placement

def _first_fit(size, lo, hi, placed):
    """Lowest offset for [lo, hi] lifetime avoiding placed (off, size, lo, hi)."""
    busy = sorted((o, o + s) for o, s, a, b in placed if a <= hi and lo <= b and s)
    off = 0
    for start, stop in busy:
        if off + size <= start:
            break
        off = max(off, stop)
    return off


def _best_fit(size, lo, hi, placed):
    """Offset of the smallest gap (among time-overlapping placed buffers) that
    holds `size`, else the top: keeps big holes for big buffers."""
    busy = sorted((o, o + s) for o, s, a, b in placed if a <= hi and lo <= b and s)
    best, off = None, 0
    for start, stop in busy:
        gap = start - off
        if gap >= size and (best is None or gap < best[0]):
            best = (gap, off)
        off = max(off, stop)
    return best[1] if best else off


def _greedy_place(items, key, fit=_first_fit):
    placed = []
    offsets = {}
    for r, size, lo, hi in sorted(items, key=key):
        off = fit(size, lo, hi, placed)
        offsets[r] = off
        placed.append((off, size, lo, hi))
    height = max((o + s for o, s, _, _ in placed), default=0)
    return height, offsets


def _branch_and_bound(items, best_height, lb):
    """Exact search (see module docstring); returns (height, offsets, proven).

    Buffers are generated in non-decreasing offset order (a compacted optimal
    placement sorted by offset is such a sequence), which gives the bound:
    everything still unplaced sits at or above the last offset, so
    height >= last offset + the largest sum of unplaced sizes live at one step."""
    n = len(items)
    steps = max((hi for _, _, _, hi in items), default=0) + 1
    best = [best_height, None]
    nodes = [0]
    exhausted = [True]
    placed = []
    offsets = {}

    def rest_bound(remaining):
        live = [0] * steps
        for i in remaining:
            _, size, lo, hi = items[i]
            for s in range(lo, hi + 1):
                live[s] += size
        return max(live)

    def rec(remaining, height, last_off, last_idx):
        if best[0] <= lb:
            return
        nodes[0] += 1
        if nodes[0] > BB_NODE_BUDGET:
            exhausted[0] = False
            return
        if not remaining:
            best[0] = height
            best[1] = dict(offsets)
            return
        if max(height, last_off + rest_bound(remaining)) >= best[0]:
            return
        for idx in remaining:
            r, size, lo, hi = items[idx]
            off = _first_fit(size, lo, hi, placed)
            if off < last_off or off == last_off and idx < last_idx:
                continue
            h = max(height, off + size)
            if h >= best[0]:
                continue
            placed.append((off, size, lo, hi))
            offsets[r] = off
            rec([i for i in remaining if i != idx], h, off, idx)
            placed.pop()
            del offsets[r]
            if not exhausted[0] or best[0] <= lb:
                return

    order = sorted(range(n), key=lambda i: -items[i][1])
    rec(order, 0, 0, -1)
    return best[0], best[1], exhausted[0]


def place(items, lb):
    """items: (buffer, aligned size, first, last). Returns (height, offsets, strategy, optimal)."""
    strategies = [
        ("greedy by size", lambda it: (-it[1], it[2], it[0])),
        ("greedy by first use", lambda it: (it[2], -it[1], it[0])),
        ("greedy by lifetime", lambda it: (-(it[3] - it[2]), -it[1], it[0])),
        ("greedy by size x lifetime", lambda it: (-it[1] * (it[3] - it[2] + 1), it[0])),
    ]
    best = None
    for (name, key), (fit_name, fit) in itertools.product(
            strategies, (("first fit", _first_fit), ("best fit", _best_fit))):
        height, offsets = _greedy_place(items, key, fit)
        if best is None or height < best[0]:
            best = (height, offsets, f"{name}, {fit_name}")
        if height <= lb:
            return height, offsets, best[2], True
    rng = random.Random(0)
    for _ in range(RANDOM_GREEDY_PLACEMENTS // max(len(items), 1)):
        noise = {it[0]: rng.uniform(0.5, 1.5) for it in items}
        fit = _first_fit if rng.random() < 0.5 else _best_fit
        height, offsets = _greedy_place(items, lambda it: (-it[1] * noise[it[0]], it[0]), fit)
        if height < best[0]:
            best = (height, offsets, "randomised greedy")
            if height <= lb:
                return height, offsets, best[2], True
    height, offsets, proven = _branch_and_bound(items, best[0], lb)
    if offsets is not None and height < best[0]:
        return height, offsets, "branch and bound", proven or height <= lb
    return best[0], best[1], best[2], proven


def plan(p: Problem, order: list = None) -> Plan:
    if order is None:
        order, _ = choose_order(p)
    lifetimes, share, groups, inplace_ops, lb = _analyse(p, order)
    items = [(r, align(p.sizes[r]), lo, hi) for r, (lo, hi) in sorted(groups.items())]
    height, offsets, strategy, optimal = place(items, lb)
    full = [offsets.get(share[b], 0) for b in range(len(p.sizes))]
    return Plan(order, full, height, lb, lifetimes, inplace_ops, strategy, optimal)


def simulate(p: Problem, pl: Plan) -> None:
    """Raise PlanCheckError if two buffers live at the same step overlap in
    the arena (except an in-place op's input and output), or exceed it.
    Checks, not asserts: `python -O` must not remove them."""
    pos = {op: s for s, op in enumerate(pl.order)}
    if sorted(pl.order) != list(range(len(p.op_inputs))):
        _plan_bug("order is not a permutation")
    prod = _producers(p)
    for op in pl.order:
        for b in p.op_inputs[op]:
            if b in prod and prod[b] != op:
                if pos[prod[b]] >= pos[op]:
                    _plan_bug(f"op {op} runs before its input {b} exists")
    for op, src in pl.inplace_ops.items():
        if src not in inplace_sources(p, op):
            _plan_bug(f"op {op} runs in place over buffer {src}, which it may not write")
        if pl.lifetimes[src][1] != pos[op] or src in p.graph_outputs:
            _plan_bug(f"op {op} runs in place over buffer {src}, which is still needed")
    # An in-place op's output shares its input's storage, transitively.
    share = {p.op_outputs[op][0]: src for op, src in pl.inplace_ops.items()}

    def root(b):
        while b in share:
            b = share[b]
        return b

    steps = max(len(pl.order), 1)
    for s in range(steps):
        live = [b for b, (lo, hi) in enumerate(pl.lifetimes) if lo <= s <= hi and p.sizes[b]]
        for b in live:
            if pl.offsets[b] % ALIGN:
                _plan_bug(f"buffer {b} at offset {pl.offsets[b]} is not {ALIGN}-byte aligned")
            if pl.offsets[b] + p.sizes[b] > pl.arena_size:
                _plan_bug(f"buffer {b} exceeds the arena")
        for i, a in enumerate(live):
            for b in live[i + 1:]:
                if root(a) == root(b):
                    continue
                a0, a1 = pl.offsets[a], pl.offsets[a] + p.sizes[a]
                b0, b1 = pl.offsets[b], pl.offsets[b] + p.sizes[b]
                if not (a1 <= b0 or b1 <= a0):
                    _plan_bug(f"buffers {a} and {b} overlap at step {s}")
    if pl.arena_size < pl.lower_bound:
        _plan_bug(f"arena {pl.arena_size} below the lower bound {pl.lower_bound}")


def _plan_bug(what: str):
    raise PlanCheckError(f"the arena plan failed its self-check ({what}): this is a bug in tinyml's "
                         "planner, please report it with the model")
