"""Arena planner: chains reach the lower bound, random DAGs never overlap live
buffers (checked by an independent step-by-step simulation), arena >= bound."""

import random

import pytest

from tinyml_converter import planner
from tinyml_converter.planner import ALIGN, Problem, align, choose_order, lower_bound, plan, simulate


@pytest.fixture(autouse=True)
def short_search_budget(monkeypatch):
    # The exact search stops at its budget; keep the suite fast.
    monkeypatch.setattr(planner, "BB_NODE_BUDGET", 20000)
    monkeypatch.setattr(planner, "RANDOM_GREEDY_PLACEMENTS", 2000)


def chain(sizes, inplace=None):
    """Buffers b0 -> op0 -> b1 -> op1 -> ... (b0 model input, last model output)."""
    n = len(sizes) - 1
    return Problem(sizes=list(sizes), op_inputs=[[i] for i in range(n)],
                   op_outputs=[[i + 1] for i in range(n)], graph_inputs=[0],
                   graph_outputs=[n], inplace=inplace or [False] * n)


def independent_overlap_check(p, pl):
    """Recompute lifetimes from scratch (not with the planner's own helper)."""
    pos = {op: s for s, op in enumerate(pl.order)}
    n = len(pl.order)
    for b in range(len(p.sizes)):
        writers = [pos[o] for o, outs in enumerate(p.op_outputs) if b in outs]
        readers = [pos[o] for o, ins in enumerate(p.op_inputs) if b in ins]
        first = 0 if b in p.graph_inputs else min(writers)
        last = n - 1 if b in p.graph_outputs else max(readers + [first])
        assert pl.lifetimes[b] == (first, last)
    simulate(p, pl)


def hand_lower_bound(p, order):
    """Max over steps of live bytes, written independently of the planner."""
    pos = {op: s for s, op in enumerate(order)}
    n = len(order)
    best = 0
    for s in range(n):
        live = 0
        for b in range(len(p.sizes)):
            writers = [pos[o] for o, outs in enumerate(p.op_outputs) if b in outs]
            readers = [pos[o] for o, ins in enumerate(p.op_inputs) if b in ins]
            first = 0 if b in p.graph_inputs else min(writers)
            last = n - 1 if b in p.graph_outputs else max(readers + [first])
            if first <= s <= last:
                live += align(p.sizes[b])
        best = max(best, live)
    return best


@pytest.mark.parametrize("sizes", [
    [100, 50, 200, 10],
    [8, 8, 8, 8, 8],
    [1000, 1, 1000, 1, 1000],
    [3, 700, 20, 500, 100, 64, 5],
])
def test_chain_hits_lower_bound(sizes):
    p = chain(sizes)
    pl = plan(p)
    assert pl.order == list(range(len(sizes) - 1))
    # chain: max over steps of in + out
    expected = max(align(a) + align(b) for a, b in zip(sizes, sizes[1:]))
    assert pl.lower_bound == expected
    assert pl.arena_size == expected
    assert pl.optimal
    independent_overlap_check(p, pl)


def test_inplace_lut_shares_storage():
    # conv(100->80), LUT(80->80) in place, fc(80->10)
    p = chain([100, 80, 80, 10], inplace=[False, True, False])
    pl = plan(p)
    assert list(pl.inplace_ops) == [1]
    assert pl.offsets[1] == pl.offsets[2]
    assert pl.lower_bound == align(100) + align(80)
    assert pl.arena_size == pl.lower_bound
    simulate(p, pl)


def test_inplace_refused_when_input_still_needed():
    # b1 feeds the LUT and a later ADD: it must survive the LUT.
    p = Problem(sizes=[16, 16, 16, 16], op_inputs=[[0], [1], [1, 2]],
                op_outputs=[[1], [2], [3]], graph_inputs=[0], graph_outputs=[3],
                inplace=[False, True, False])
    pl = plan(p)
    assert pl.inplace_ops == {}
    simulate(p, pl)


def test_inplace_over_whichever_input_dies():
    """A residual ADD (b0 + b1 -> b2) may write over either input: here the
    skip b0 is read later, so the output takes the branch b1's storage."""
    p = Problem(sizes=[64, 64, 64, 8], op_inputs=[[0], [0, 1], [0, 2]], op_outputs=[[1], [2], [3]],
                graph_inputs=[0], graph_outputs=[3], inplace=[False, [0, 1], False])
    pl = plan(p)
    assert pl.inplace_ops == {1: 1}
    assert pl.offsets[2] == pl.offsets[1]
    assert pl.lower_bound == 2 * 64 + 8
    simulate(p, pl)
    p.inplace = [False, [0], False]  # only over the skip, which lives on: not in place
    assert plan(p).inplace_ops == {}


def test_model_output_never_overwritten_in_place():
    p = Problem(sizes=[16, 16, 16], op_inputs=[[0], [1]], op_outputs=[[1], [2]],
                graph_inputs=[0], graph_outputs=[1, 2], inplace=[True, True])
    pl = plan(p)
    assert 1 not in [p.op_inputs[o][0] for o in pl.inplace_ops]
    simulate(p, pl)


def test_order_search_beats_bad_original_order():
    # Two branches from the input: a big one whose result is consumed at the
    # end, and a chain that shrinks. Original order runs the big producer first.
    #   op0: in(8) -> big(800)         op1: in -> s1(400)   op2: s1 -> s2(8)
    #   op3: big + s2 -> out(8)
    p = Problem(sizes=[8, 800, 400, 8, 8], op_inputs=[[0], [0], [2], [1, 3]],
                op_outputs=[[1], [2], [3], [4]], graph_inputs=[0], graph_outputs=[4],
                inplace=[False] * 4)
    original = lower_bound(p, [0, 1, 2, 3])
    order, _ = choose_order(p)
    assert hand_lower_bound(p, order) < original
    pl = plan(p)
    assert pl.lower_bound == hand_lower_bound(p, pl.order)
    assert pl.arena_size == pl.lower_bound
    simulate(p, pl)


def random_dag(rng, n_ops, max_size=300):
    sizes = [rng.randint(1, max_size)]
    op_inputs, op_outputs = [], []
    inputs = [0]
    if rng.random() < 0.3:
        sizes.append(rng.randint(1, max_size))
        inputs.append(1)
    available = list(range(len(sizes)))
    for _ in range(n_ops):
        k = rng.choice([1, 1, 1, 2, 2, 3])
        ins = rng.sample(available, min(k, len(available)))
        outs = [len(sizes)]
        sizes.append(rng.randint(1, max_size))
        if rng.random() < 0.15:
            outs.append(len(sizes))
            sizes.append(rng.randint(1, max_size))
        op_inputs.append(ins)
        op_outputs.append(outs)
        available.extend(outs)
    consumed = {b for ins in op_inputs for b in ins}
    outputs = [b for b in range(len(sizes)) if b not in consumed and b not in inputs]
    outputs = outputs or [len(sizes) - 1]
    inplace = [len(ins) == 1 and len(outs) == 1 and rng.random() < 0.5
               for ins, outs in zip(op_inputs, op_outputs)]
    for o, flag in enumerate(inplace):
        if flag:   # in-place ops are element-wise: same size
            sizes[op_outputs[o][0]] = sizes[op_inputs[o][0]]
    return Problem(sizes, op_inputs, op_outputs, inputs, outputs, inplace)


@pytest.mark.parametrize("seed", range(40))
def test_random_dags_never_overlap(seed):
    rng = random.Random(seed)
    p = random_dag(rng, rng.randint(1, 14))
    pl = plan(p)
    independent_overlap_check(p, pl)
    assert pl.arena_size >= pl.lower_bound
    assert all(o % ALIGN == 0 for o in pl.offsets)
    if not pl.inplace_ops:
        assert pl.lower_bound == hand_lower_bound(p, pl.order)
    # The chosen order is never worse than the original one.
    assert pl.lower_bound <= lower_bound(p, list(range(len(p.op_inputs))))


@pytest.mark.parametrize("seed", range(5))
def test_large_random_dags(seed):
    rng = random.Random(1000 + seed)
    p = random_dag(rng, 120)
    pl = plan(p)
    simulate(p, pl)
    assert pl.arena_size >= pl.lower_bound


def test_branch_and_bound_beats_greedy():
    """A classic instance where first-fit by size misses the optimum."""
    from tinyml_converter.planner import _greedy_place, place

    # (buffer, size, first, last)
    items = [(0, 16, 0, 1), (1, 8, 1, 2), (2, 8, 2, 3), (3, 16, 3, 4), (4, 8, 0, 0),
             (5, 8, 4, 4)]
    lb = 0
    for s in range(5):
        lb = max(lb, sum(sz for _, sz, lo, hi in items if lo <= s <= hi))
    height, offsets, strategy, optimal = place(items, lb)
    assert height == lb
    for i, (a, sa, la, ha) in enumerate(items):
        for b, sb, lb_, hb in items[i + 1:]:
            if la <= hb and lb_ <= ha:
                assert offsets[a] + sa <= offsets[b] or offsets[b] + sb <= offsets[a]
    greedy_height, _ = _greedy_place(items, lambda it: (-it[1], it[2], it[0]))
    assert greedy_height >= height
