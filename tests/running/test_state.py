"""RunState: what a run accumulates, sliced per batch and put together on rank 0."""

from __future__ import annotations

from srpipe.running.state import RunResult, RunState


def _state() -> RunState:
    return RunState(RunResult("t", "in", "none", 1, "out"))


def test_since_a_mark_gives_what_a_batch_added() -> None:
    state = _state()
    state.predictions.append("p0")
    mark = state.mark()
    state.predictions.append("p1")
    state.rows.append(({"a": 1}, {"a": 2}))
    state.result.failed.append({"input": "bad.png", "error": "unreadable"})
    state.result.outputs.append("out/p1.png")
    part = state.since(mark)
    assert part.predictions == ["p1"] and part.rows == [({"a": 1}, {"a": 2})]
    assert part.failed[0]["input"] == "bad.png" and part.outputs == ["out/p1.png"]
    assert state.since().predictions == ["p0", "p1"]


def test_replace_records_puts_ranks_together_and_sums_their_time() -> None:
    ranks = [_state(), _state()]
    for rank, state in enumerate(ranks):
        state.predictions.append(f"p{rank}")
        state.result.frames = 1
        state.timer.add("sr", 1.5)
    main = ranks[0]
    main.replace_records((s.since() for s in ranks), (dict(s.timer.seconds) for s in ranks))
    assert main.predictions == ["p0", "p1"] and main.result.frames == 2
    assert main.timer.seconds == {"sr": 3.0}


def test_a_timed_stage_counts_even_when_it_fails() -> None:
    state = _state()
    try:
        with state.timer.time("decode"):
            raise ValueError
    except ValueError:
        pass
    assert state.timer.seconds["decode"] >= 0 and "decode" in state.timer.seconds
