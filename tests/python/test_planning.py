"""The planner (`planning.py`) on its own: pure functions over the loaded dates, the ledger, the
rows the tables hold and what changed, so these tests need no warehouse and no dbt. What a
partition's state is, which batches and waves bring it to done, and what is rebuilt beside the
live tables; the end-to-end tests (test_backfill, test_changes, test_code_changes) prove that a
real run does what these plans say."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from shotzones.code import CodeVersion
from shotzones.columns import SchemaChange
from shotzones.ledger import Entry, SourceGame
from shotzones.planning import (
    CODE_CHANGED,
    FEATURES,
    MODELS,
    PARTITION_SECONDS,
    PLAYER_GAMES,
    WAVE_SECONDS,
    Batch,
    Code,
    PartitionState,
    UpstreamChange,
    _merge_across_gaps,
    cap_partitions,
    partition_states,
    partitions_named,
    plan_batches,
    player_game_states,
    rebuilt_beside,
    source_changes,
    upstream_changes,
    waves,
)

OPENING_NIGHT = date(2022, 10, 18)
BUILT = datetime(2023, 1, 1, 6, 0)  # when the ledger's entries were built
ROWS = 250  # rows a built partition holds
# the most done partitions whose rebuild still costs less than one wave
CHEAP_GAP = int(WAVE_SECONDS / PARTITION_SECONDS) - 1


def game_dates(count: int, start: date = OPENING_NIGHT, every: int = 1) -> list[date]:
    return [start + timedelta(days=n * every) for n in range(count)]


def entry(model: str, day: date, state: str = "done", **fields) -> Entry:
    values = {
        "run_id": "run1",
        "started_at": BUILT - timedelta(minutes=1),
        "finished_at": BUILT,
        "rows_written": ROWS,
        "duration_seconds": 1.0,
        "error": None,
        "code_fingerprint": f"{model}-v1",
    } | fields
    return Entry(model, day, state, **values)


def ledger(days: list[date], models: tuple[str, ...] = MODELS, **fields) -> dict[tuple[str, date], Entry]:
    return {(model, day): entry(model, day, **fields) for model in models for day in days}


def rows(days: list[date], models: tuple[str, ...] = MODELS) -> dict[tuple[str, date], int]:
    return {(model, day): ROWS for model in models for day in days}


def code(**fingerprints: str) -> Code:
    """The project compiling each model to `<model>-v1`, or to what `fingerprints` says
    (keyed `player_games`, `features`), with the components of both versions known."""
    current, known = {}, {}
    for key, model in (("player_games", PLAYER_GAMES), ("features", FEATURES)):
        now = fingerprints.get(key, f"{model}-v1")
        current[model] = CodeVersion(now, "", {"sql": now, "vars": {"zone_scheme": "legacy_distance"}})
        known[f"{model}-v1"] = {"sql": f"{model}-v1", "vars": {"zone_scheme": "official"}}
    return Code(current, known)


def all_done(days: list[date]) -> dict[tuple[str, date], PartitionState]:
    return {(model, day): PartitionState(model, day, "done", "run run1") for model in MODELS for day in days}


def with_state(
    states: dict[tuple[str, date], PartitionState], model: str, days: list[date], state: str, reason: str = ""
) -> dict[tuple[str, date], PartitionState]:
    return states | {(model, day): PartitionState(model, day, state, reason or state) for day in days}


def planned(batches: list[Batch]) -> set[tuple[str, date]]:
    """Every (model, date) the batches build."""
    return {(model, day) for batch in batches for model in batch.models for day in batch.dates}


def spans(batches: list[Batch]) -> list[tuple[tuple[str, ...], date, date]]:
    return [(batch.models, batch.start, batch.end) for batch in batches]


def state_of(states, model: str, day: date) -> tuple[str, str]:
    state = states[(model, day)]
    return state.state, state.reason


# --- partition states: done only when proven ----------------------------------------------------


def test_a_partition_is_done_only_when_the_ledger_says_so_and_the_table_holds_its_rows():
    days = game_dates(4)
    entries = ledger(days) | {
        (PLAYER_GAMES, days[1]): entry(
            PLAYER_GAMES, days[1], "failed", rows_written=None, error="test null_rate failed"
        ),
    }
    del entries[(PLAYER_GAMES, days[2])]
    present = rows(days) | {(PLAYER_GAMES, days[3]): ROWS - 7}  # rows deleted behind the ledger's back
    states = partition_states(days, entries, present)
    assert state_of(states, PLAYER_GAMES, days[0]) == ("done", "run run1")
    assert state_of(states, PLAYER_GAMES, days[1]) == ("failed", "test null_rate failed")
    assert state_of(states, PLAYER_GAMES, days[2]) == ("pending", "never built")
    assert state_of(states, PLAYER_GAMES, days[3]) == (
        "pending",
        f"ledger says done with {ROWS} rows, the table holds {ROWS - 7}",
    )
    assert state_of(states, FEATURES, days[0]) == ("done", "run run1")
    assert len(states) == 2 * len(days)


def test_a_partition_whose_table_lost_every_row_is_pending():
    days = game_dates(2)
    states = partition_states(days, ledger(days), rows(days[:1]))
    assert state_of(states, FEATURES, days[1])[0] == "pending"
    assert state_of(states, PLAYER_GAMES, days[0])[0] == "done"


def test_a_failed_partition_without_an_error_says_failed():
    day = OPENING_NIGHT
    entries = {(PLAYER_GAMES, day): entry(PLAYER_GAMES, day, "failed", error=None)}
    assert player_game_states([day], entries, {}, {})[day].state == "failed"
    assert player_game_states([day], entries, {}, {})[day].reason == "failed"


def test_changed_play_by_play_makes_a_done_player_game_partition_stale_with_its_games():
    days = game_dates(3)
    changes = {days[1]: ["game 0022200011 was re-delivered changed", "game 0022200012 arrived late"]}
    states = player_game_states(days, ledger(days), rows(days), changes)
    assert (states[days[1]].state, states[days[1]].reason) == (
        "stale",
        "game 0022200011 was re-delivered changed; game 0022200012 arrived late",
    )
    assert {states[d].state for d in (days[0], days[2])} == {"done"}


def test_a_partition_not_done_stays_so_whatever_changed_under_it():
    """Failed and pending say why they are not done: a source change does not hide that."""
    days = game_dates(2)
    entries = ledger(days) | {(PLAYER_GAMES, days[0]): entry(PLAYER_GAMES, days[0], "failed", error="boom")}
    present = rows(days) | {(PLAYER_GAMES, days[1]): 0}
    changes = {day: ["game 0022200001 was removed"] for day in days}
    states = player_game_states(days, entries, present, changes, code(player_games="new"))
    assert [states[day].state for day in days] == ["failed", "pending"]


def test_features_are_stale_on_the_changed_date_and_the_later_dates_that_reach_it_only():
    days = game_dates(12)
    change = UpstreamChange(days[3], frozenset({"0022200031"}), None, "game 0022200031 was re-delivered changed")
    reach = {change: {days[5], days[9]}}  # the next games of the changed game's players
    changes = {days[3]: [change.reason]}
    states = partition_states(days, ledger(days), rows(days), changes, reach)
    stale = {day for day in days if states[(FEATURES, day)].state == "stale"}
    assert stale == {days[3], days[5], days[9]}
    assert states[(FEATURES, days[9])].reason == f"reads {days[3]}: game 0022200031 was re-delivered changed"
    assert {day for day in days if states[(PLAYER_GAMES, day)].state == "stale"} == {days[3]}


def test_features_built_after_the_player_games_read_a_change_are_done():
    """A change a player-game build already read (`since`) outdates only the features built before it."""
    days = game_dates(6)
    rebuilt_at = BUILT + timedelta(hours=1)
    change = UpstreamChange(days[1], frozenset({"0022200011"}), rebuilt_at, "games 0022200011 changed")
    entries = ledger(days) | {
        (FEATURES, days[4]): entry(FEATURES, days[4], finished_at=rebuilt_at + timedelta(minutes=5)),
    }
    states = partition_states(days, entries, rows(days), {}, {change: {days[2], days[4]}})
    assert [states[(FEATURES, day)].state for day in days] == ["done", "stale", "stale", "done", "done", "done"]


def test_the_earliest_change_a_features_partition_reads_is_the_reason_given():
    days = game_dates(8)
    early = UpstreamChange(days[1], None, None, "its player-games are pending: never built")
    late = UpstreamChange(days[4], frozenset({"g"}), None, "game g arrived late")
    states = partition_states(days, ledger(days), rows(days), {}, {late: {days[6]}, early: {days[6]}})
    assert states[(FEATURES, days[6])].reason == f"reads {days[1]}: its player-games are pending: never built"


def test_partitions_built_by_other_code_are_stale_and_say_what_changed():
    days = game_dates(3)
    states = partition_states(days, ledger(days), rows(days), code=code(player_games="int-v2", features="feat-v2"))
    state, reason = state_of(states, PLAYER_GAMES, days[0])
    assert state == "stale"
    assert reason == f"{CODE_CHANGED}: {PLAYER_GAMES} (its SQL, var zone_scheme 'official' -> 'legacy_distance')"
    assert {s.state for s in states.values()} == {"stale"}


def test_a_features_code_change_leaves_the_player_games_done():
    days = game_dates(3)
    states = partition_states(days, ledger(days), rows(days), code=code(features="feat-v2"))
    assert {states[(PLAYER_GAMES, day)].state for day in days} == {"done"}
    assert {states[(FEATURES, day)].state for day in days} == {"stale"}


def test_a_partition_built_before_fingerprints_is_stale_as_code_unknown():
    days = game_dates(1)
    states = partition_states(days, ledger(days, code_fingerprint=None), rows(days), code=code())
    assert state_of(states, FEATURES, days[0]) == (
        "stale",
        f"{CODE_CHANGED}: {FEATURES} (code unknown: built before code fingerprints, or by a direct dbt run of other code)",
    )


def test_the_code_the_partitions_were_built_by_keeps_them_done():
    days = game_dates(2)
    assert {s.state for s in partition_states(days, ledger(days), rows(days), code=code()).values()} == {"done"}


# --- batches ------------------------------------------------------------------------------------


def test_nothing_to_do_plans_nothing():
    days = game_dates(10)
    assert plan_batches(days, all_done(days), None, None) == []


def test_a_contiguous_pending_range_is_one_batch_across_days_without_games():
    """The loaded calendar is what is contiguous: a day without games breaks no batch."""
    days = game_dates(30, every=3)
    states = with_state(all_done(days), PLAYER_GAMES, days, "pending")
    states = with_state(states, FEATURES, days, "pending")
    batches = plan_batches(days, states, None, None)
    assert spans(batches) == [(MODELS, days[0], days[-1])]
    assert batches[0].dates == days
    assert batches[0].reasons == {"pending"}


def test_batch_days_caps_the_dates_of_a_batch_and_keeps_every_date_once():
    days = game_dates(23)
    states = with_state(with_state(all_done(days), PLAYER_GAMES, days, "pending"), FEATURES, days, "pending")
    batches = plan_batches(days, states, None, None, batch_days=5)
    assert [len(b.dates) for b in batches] == [5, 5, 5, 5, 3]
    assert [d for b in batches for d in b.dates] == days
    assert all(b.models == MODELS for b in batches)


def test_force_rebuilds_the_done_partitions_of_the_range_and_only_those():
    days = game_dates(10)
    batches = plan_batches(days, all_done(days), days[3], days[6], force=True)
    assert spans(batches) == [(MODELS, days[3], days[6])]
    assert batches[0].reasons == {"forced"}


def test_a_range_builds_its_partitions_and_the_player_games_its_features_look_back_on():
    days = game_dates(10)
    states = with_state(all_done(days), PLAYER_GAMES, [days[1], days[7]], "stale", "game changed")
    batches = plan_batches(days, states, days[5], None, batch_days=1)
    # days[1] is before the range: its player-games are rebuilt for the features in the range
    # to read, its own features are not
    assert planned(batches) == {
        (PLAYER_GAMES, days[1]),
        (PLAYER_GAMES, days[7]),
        (FEATURES, days[7]),
        (FEATURES, days[8]),
        (FEATURES, days[9]),
    }
    assert plan_batches(days, states, None, days[0]) == [], "nothing stale up to days[0]"


def test_selecting_the_player_games_plans_only_them():
    days = game_dates(6)
    states = with_state(with_state(all_done(days), PLAYER_GAMES, days, "pending"), FEATURES, days, "pending")
    batches = plan_batches(days, states, None, None, models=(PLAYER_GAMES,))
    assert spans(batches) == [((PLAYER_GAMES,), days[0], days[-1])]


def test_a_features_partition_builds_the_player_games_it_looks_back_on_first_whatever_the_range():
    """Backfilling the second half of a season before the first: the player-games of the first
    half are built first, in their own batch, which runs before the features."""
    days = game_dates(40)
    states = with_state(all_done(days), PLAYER_GAMES, days, "pending")
    states = with_state(states, FEATURES, days, "pending")
    batches = plan_batches(days, states, days[20], None, batch_days=20)
    assert spans(batches) == [((PLAYER_GAMES,), days[0], days[19]), (MODELS, days[20], days[-1])]
    assert batches[0].reasons == {"lookback of a features partition"}
    # without a cap on its dates, building the first half's features too is cheaper than a wave
    assert spans(plan_batches(days, states, days[20], None)) == [(MODELS, days[0], days[-1])]


def test_selecting_the_features_still_builds_the_player_games_they_read():
    days = game_dates(8)
    states = with_state(all_done(days), PLAYER_GAMES, [days[2]], "failed", "test failed")
    states = with_state(states, FEATURES, [days[6]], "pending")
    batches = plan_batches(days, states, None, None, models=(FEATURES,), batch_days=1)
    assert planned(batches) == {(PLAYER_GAMES, days[2]), (FEATURES, days[6])}
    assert batches[0].models == (PLAYER_GAMES,), "player-games first"


def test_player_games_after_the_last_features_partition_are_no_lookback():
    days = game_dates(8)
    states = with_state(all_done(days), PLAYER_GAMES, [days[7]], "pending")
    states = with_state(states, FEATURES, [days[3]], "pending")
    batches = plan_batches(days, states, None, days[5], batch_days=1)
    assert planned(batches) == {(FEATURES, days[3])}


def test_a_rebuilt_player_game_partition_outdates_the_features_that_reach_it_and_no_others():
    days = game_dates(30)
    states = with_state(all_done(days), PLAYER_GAMES, [days[3]], "stale", "game changed")
    reach = {days[3]: {days[5], days[9], days[20]}}
    batches = plan_batches(days, states, None, None, reach=reach, batch_days=1)
    assert planned(batches) == {(PLAYER_GAMES, days[3])} | {
        (FEATURES, d) for d in (days[3], days[5], days[9], days[20])
    }
    features = next(b for b in batches if b.models == (FEATURES,) and b.start == days[9])
    assert features.reasons == {f"reads player-games of {days[3]}, rebuilt now"}


def test_without_the_reach_a_rebuilt_player_game_partition_outdates_every_later_features_partition():
    days = game_dates(6)
    states = with_state(all_done(days), PLAYER_GAMES, [days[2]], "pending")
    batches = plan_batches(days, states, None, None, batch_days=1)
    assert planned(batches) == {(PLAYER_GAMES, days[2])} | {(FEATURES, d) for d in days[2:]}


def test_a_player_game_and_later_features_merge_into_one_batch():
    days = game_dates(60)
    states = with_state(all_done(days), PLAYER_GAMES, [days[3]], "stale", "game changed")
    reach = {days[3]: {days[5], days[9], days[20]}}
    batches = plan_batches(days, states, None, None, reach=reach)
    assert spans(batches) == [(MODELS, days[3], days[20])]


def test_player_game_only_batches_run_before_any_features_batch_whatever_their_dates():
    days = game_dates(3000)
    states = with_state(all_done(days), FEATURES, [days[100], days[2900]], "stale", "code changed")
    states = with_state(states, PLAYER_GAMES, [days[2000]], "failed", "test failed")
    batches = plan_batches(days, states, None, None, models=(FEATURES,))
    assert spans(batches) == [
        ((PLAYER_GAMES,), days[2000], days[2000]),
        ((FEATURES,), days[100], days[100]),
        ((FEATURES,), days[2900], days[2900]),
    ]


# --- merging across gaps: a wave's fixed cost against rebuilding done partitions -----------------


def test_stale_partitions_a_cheap_gap_apart_are_one_batch():
    gap = CHEAP_GAP // len(MODELS)  # cheaper than a wave, for both models
    dates = game_dates(20 + 5 * gap)
    stale_days = dates[10 : 10 + 5 * gap : gap]
    assert len(stale_days) == 5
    states = with_state(all_done(dates), FEATURES, stale_days, "stale", "code changed")
    batches = plan_batches(dates, states, None, None)
    assert spans(batches) == [((FEATURES,), stale_days[0], stale_days[-1])]
    assert batches[0].reasons == {"code changed", "rebuilt between stale partitions: cheaper than another wave"}


def test_stale_partitions_a_costly_gap_apart_stay_apart():
    gap = CHEAP_GAP + 3  # one model: more than a wave to rebuild
    dates = game_dates(gap + 10)
    stale_days = [dates[5], dates[5 + gap]]
    states = with_state(all_done(dates), FEATURES, stale_days, "stale", "code changed")
    batches = plan_batches(dates, states, None, None)
    assert [(b.start, b.end) for b in batches] == [(d, d) for d in stale_days]


@pytest.mark.parametrize("between, merged", [(CHEAP_GAP, True), (CHEAP_GAP + 1, False)])
def test_two_batches_merge_exactly_while_what_lies_between_costs_less_than_a_wave(between, merged):
    dates = game_dates(between + 2)
    first, second = Batch((FEATURES,), [dates[0]], {"a"}), Batch((FEATURES,), [dates[-1]], {"b"})
    result = _merge_across_gaps([first, second], dates, None)
    if merged:
        assert [(b.models, b.dates) for b in result] == [((FEATURES,), dates)]
        assert result[0].reasons == {"a", "b", "rebuilt between stale partitions: cheaper than another wave"}
    else:
        assert result == [first, second]


def test_a_merge_rebuilds_both_models_across_the_span_when_that_is_cheaper():
    dates = game_dates(12)
    player_games, features = Batch((PLAYER_GAMES,), dates[0:3], {"x"}), Batch((FEATURES,), dates[5:9], {"y"})
    [merged] = _merge_across_gaps([player_games, features], dates, None)
    assert (merged.models, merged.dates) == (MODELS, dates[0:9])


def test_a_merge_never_makes_a_batch_longer_than_batch_days():
    dates = game_dates(12)
    batches = [Batch((FEATURES,), dates[0:2]), Batch((FEATURES,), dates[4:6])]
    assert len(_merge_across_gaps(batches, dates, batch_days=5)) == 2
    assert len(_merge_across_gaps(batches, dates, batch_days=6)) == 1


# --- waves and BigQuery's partitions per job ----------------------------------------------------


def test_waves_hold_up_to_workers_consecutive_batches_of_the_same_models():
    days = game_dates(20)
    batches = [Batch((PLAYER_GAMES,), [day]) for day in days[:5]] + [Batch(MODELS, [day]) for day in days[5:8]]
    planned_waves = waves(batches, workers=2)
    assert [[b.start for b in wave] for wave in planned_waves] == [
        days[0:2],
        days[2:4],
        days[4:5],
        days[5:7],
        days[7:8],
    ]
    assert [b for wave in planned_waves for b in wave] == batches


def test_a_new_version_built_beside_never_shares_a_wave_with_the_live_tables():
    days = game_dates(2)
    live, beside = Batch((FEATURES,), [days[0]]), Batch((FEATURES,), [days[1]], beside=True)
    assert waves([live, beside], workers=4) == [[live], [beside]]


def test_partitions_named_counts_every_calendar_day_of_each_batch():
    """BigQuery's static insert_overwrite lists each day of a batch's range, games or not."""
    days = game_dates(4, every=3)  # 4 game dates over 10 days
    assert partitions_named([Batch(MODELS, days)]) == 10
    assert partitions_named([Batch(MODELS, days[:1]), Batch(MODELS, days[2:])]) == 1 + 4


def test_partition_cap_splits_batches_and_waves_by_calendar_days():
    """Thirty seasons in one pending range: no wave names more days than the cap, none is lost."""
    days = [date(1996, 11, 1) + timedelta(n) for n in range(0, 30 * 365, 2)]
    capped = cap_partitions([[Batch(MODELS, days)]], 3_900)
    assert max(partitions_named(wave) for wave in capped) <= 3_900
    assert [d for wave in capped for batch in wave for d in batch.dates] == days
    assert len(capped) == 3
    assert cap_partitions([[Batch(MODELS, days)]], None) == [[Batch(MODELS, days)]]


def test_partition_cap_starts_a_new_wave_where_the_batches_together_exceed_it():
    days = game_dates(30)
    wave = [Batch(MODELS, days[0:10], {"r"}), Batch(MODELS, days[12:20]), Batch(MODELS, days[25:30], beside=True)]
    capped = cap_partitions([wave], 20)
    assert [[(b.start, b.end) for b in w] for w in capped] == [
        [(days[0], days[9]), (days[12], days[19])],
        [(days[25], days[29])],
    ]
    assert capped[0][0].reasons == {"r"} and capped[1][0].beside, "each part keeps its reasons and where it goes"


def test_a_batch_exactly_as_long_as_the_cap_is_not_split():
    days = game_dates(20)
    assert cap_partitions([[Batch(MODELS, days)]], 20) == [[Batch(MODELS, days)]]
    assert [len(b.dates) for [b] in cap_partitions([[Batch(MODELS, days)]], 19)] == [19, 1]


# --- what changed in the play-by-play -----------------------------------------------------------


def source(row_count: int, content_hash: str, changed_at: datetime = BUILT) -> SourceGame:
    return SourceGame(row_count, content_hash, changed_at)


def test_source_changes_name_each_game_re_delivered_late_or_removed_on_a_built_date():
    d1, d2, d3 = game_dates(3)
    recorded = {
        (d1, "g1"): source(400, "h1"),
        (d1, "g2"): source(410, "h2"),
        (d2, "g3"): source(420, "h3"),
        (d2, "g4"): source(0, ""),  # removed before, and recorded so
        (d3, "g5"): source(430, "h5"),
    }
    current = {
        (d1, "g1"): (400, "h1"),  # as built
        (d1, "g2"): (411, "h2b"),  # re-delivered
        (d2, "g6"): (405, "h6"),  # new on a built date
        (d3, "g5"): (431, "h5b"),  # changed, but d3 was never built: nothing to outdate
    }  # g3 is gone
    assert source_changes(recorded, current, built={d1, d2}) == {
        d1: {"g2": "game g2 was re-delivered changed"},
        d2: {"g3": "game g3 was removed", "g6": "game g6 arrived late"},
    }


def test_reloading_identical_play_by_play_changes_nothing():
    day = OPENING_NIGHT
    recorded = {(day, "g1"): source(400, "h1")}
    assert source_changes(recorded, {(day, "g1"): (400, "h1")}, {day}) == {}


def test_upstream_changes_are_what_a_built_features_partition_on_or_after_the_date_read():
    days = game_dates(6)
    entries = ledger(days[:4])  # features built up to days[3]
    changed = {days[1]: {"g1": "game g1 was re-delivered changed"}, days[5]: {"g9": "game g9 arrived late"}}
    player_games = {day: PartitionState(PLAYER_GAMES, day, "done", "") for day in days}
    assert upstream_changes(entries, {}, changed, player_games) == [
        UpstreamChange(days[1], frozenset({"g1"}), None, "game g1 was re-delivered changed")
    ], "no features partition on or after days[5] was built: nothing read its change"


def test_player_games_not_done_are_upstream_changes_unless_their_code_changed():
    days = game_dates(4)
    player_games = {day: PartitionState(PLAYER_GAMES, day, "done", "") for day in days} | {
        days[1]: PartitionState(PLAYER_GAMES, days[1], "failed", "test failed"),
        days[2]: PartitionState(PLAYER_GAMES, days[2], "stale", f"{CODE_CHANGED}: {PLAYER_GAMES} (its SQL)"),
    }
    assert upstream_changes(ledger(days), {}, {}, player_games) == [
        UpstreamChange(days[1], None, None, "its player-games are failed: test failed")
    ]


def test_games_a_player_game_rebuild_read_after_the_features_were_built_are_upstream_changes():
    days = game_dates(4)
    later = BUILT + timedelta(hours=2)
    recorded = {
        (days[1], "g1"): source(400, "h1", later),  # read by a rebuild after the features
        (days[1], "g2"): source(400, "h2", later),
        (days[2], "g3"): source(400, "h3", BUILT - timedelta(days=1)),  # before: the features read it
    }
    player_games = {day: PartitionState(PLAYER_GAMES, day, "done", "") for day in days}
    assert upstream_changes(ledger(days), recorded, {}, player_games) == [
        UpstreamChange(days[1], frozenset({"g1", "g2"}), later, "games g1, g2 changed")
    ]


# --- what is rebuilt beside the live tables -----------------------------------------------------


def stale_code(model: str, days: list[date]) -> dict[tuple[str, date], PartitionState]:
    return with_state(all_done(days), model, days, "stale", f"{CODE_CHANGED}: {model} (its SQL)")


def test_a_schema_change_rebuilds_the_model_and_what_reads_it_beside_the_live_tables():
    days = game_dates(3)
    change = SchemaChange(PLAYER_GAMES, {"fga": "BIGINT"}, {"fga": "BIGINT", "newcomer": "INTEGER"})
    rebuilds = rebuilt_beside(all_done(days), {PLAYER_GAMES: change}, set(MODELS), MODELS, False, False)
    assert [(r.model, r.why) for r in rebuilds] == [
        (PLAYER_GAMES, f"schema changed: {PLAYER_GAMES} (columns added newcomer (INTEGER))"),
        (FEATURES, f"reads {PLAYER_GAMES}, rebuilt beside it"),
    ]


def test_a_code_change_rebuilds_beside_unless_a_range_narrows_the_run():
    days = game_dates(3)
    states = stale_code(FEATURES, days)
    rebuilds = rebuilt_beside(states, {}, set(MODELS), MODELS, False, False)
    assert [(r.model, r.why) for r in rebuilds] == [(FEATURES, f"{CODE_CHANGED}: {FEATURES} (its SQL)")]
    assert rebuilt_beside(states, {}, set(MODELS), MODELS, True, False) == [], "a range rebuilds in place"


def test_a_schema_change_is_rebuilt_beside_even_in_a_range():
    days = game_dates(2)
    change = SchemaChange(FEATURES, {"a": "DOUBLE"}, {"a": "BIGINT"})
    rebuilds = rebuilt_beside(stale_code(FEATURES, days), {FEATURES: change}, set(MODELS), MODELS, True, False)
    assert [(r.model, r.why) for r in rebuilds] == [
        (FEATURES, f"schema changed: {FEATURES} (columns retyped a DOUBLE -> BIGINT)")
    ]


def test_full_refresh_rebuilds_every_selected_model_with_a_live_table():
    days = game_dates(2)
    rebuilds = rebuilt_beside(all_done(days), {}, set(MODELS), MODELS, False, True)
    assert [(r.model, r.why) for r in rebuilds] == [(m, "--full-refresh") for m in MODELS]
    only = rebuilt_beside(all_done(days), {}, set(MODELS), (FEATURES,), False, True)
    assert [r.model for r in only] == [FEATURES]


def test_a_model_without_a_live_table_is_simply_built():
    days = game_dates(2)
    assert rebuilt_beside(stale_code(PLAYER_GAMES, days), {}, set(), MODELS, False, True) == []


def test_a_model_downstream_of_a_rebuild_is_rebuilt_only_when_selected():
    days = game_dates(2)
    rebuilds = rebuilt_beside(stale_code(PLAYER_GAMES, days), {}, set(MODELS), (PLAYER_GAMES,), False, False)
    assert [r.model for r in rebuilds] == [PLAYER_GAMES]


def test_nothing_changed_rebuilds_nothing_beside():
    days = game_dates(2)
    assert rebuilt_beside(all_done(days), {PLAYER_GAMES: None}, set(MODELS), MODELS, False, False) == []
