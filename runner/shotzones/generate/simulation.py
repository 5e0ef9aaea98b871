"""The simulation of one game, possession by possession, into format-neutral events (events.py).

Every game is simulated from its own RNG seeded from (seed, game id) and the planned state of
the league on its date, so any one game is the same whichever others are written."""

from __future__ import annotations

import random
from bisect import bisect

from .court import ZATB, ZC3, ZRA, distance, sample_xy
from .events import C_END, C_FOUL, C_FT, C_JUMP, C_MADE, C_MISS, C_REB, C_START, C_SUB, C_TO, C_TOUT, C_VIOL
from .league import Game
from .players import Player
from .plays import (
    FOUL_DESC,
    NS_FOULS,
    P_ASSIST,
    P_BLOCK,
    P_NSFOUL,
    P_OREB,
    P_SFOUL,
    P_TEAM_REB,
    P_TO,
    P_UNKNOWN_XY,
    P_VIOL,
    PUTBACK_CUM,
    SHOT_TYPE_CUM,
    TO_DESC,
    TO_STEAL,
    TO_TYPES,
    period_name,
)
from .rotation import TeamGame, lineup_info, period_plan, team_game

ROWS_PER_GAME = (400, 548)  # the real range is about 394-544


def play(
    seed: int, game: Game, rosters: list[list[Player]], frac: float
) -> tuple[tuple[TeamGame, TeamGame], list[tuple]]:
    """Simulate one game from its own RNG: the two teams and the events. The rare game whose row
    count falls outside the real range is replayed from the next sub-seed (still a function of
    seed and game id only)."""
    for attempt in range(50):
        suffix = f":{attempt}" if attempt else ""
        sim_rng = random.Random(f"shotzones-game:{seed}:{game.game_id}{suffix}")
        teams = (
            team_game(sim_rng, game.away, rosters[game.away], game.day, frac),
            team_game(sim_rng, game.home, rosters[game.home], game.day, frac),
        )
        events = GameSimulation(sim_rng, teams).simulate()
        if ROWS_PER_GAME[0] <= len(events) <= ROWS_PER_GAME[1]:
            break
    return teams, events


class GameSimulation:
    """One game: `simulate()` plays its periods and returns its events. The methods below are
    the game's events; each appends what happened and says what the game needs to go on (who
    has the ball, whether it is dead). Game state lives on the instance; side 0 is away, 1 home."""

    __slots__ = (
        "rng",
        "rnd",
        "randint",
        "teams",
        "events",
        "score",
        "stats",
        "per",
        "plen",
        "bonus",
        "team_fouls",
        "late_fouls",
        "scoring_run",
        "info_cache",
        "plans",
        "t",
        "poss",
        "dead",
        "second",
        "oreb_by",
    )

    def __init__(self, rng: random.Random, teams: tuple[TeamGame, TeamGame]) -> None:
        self.rng = rng
        self.rnd = rng.random
        self.randint = rng.randint
        self.teams = teams
        self.events: list[tuple] = []
        self.score = [0, 0]
        # per player: pts ast blk stl oreb dreb pf to (the descriptions' running counts)
        self.stats: dict[Player, list[int]] = {p: [0, 0, 0, 0, 0, 0, 0, 0] for tg in teams for p in tg.players}
        self.per = 0
        self.plen = 720  # the period's length in seconds
        self.bonus = 5  # team fouls that put the other team in the bonus
        self.team_fouls = [0, 0]
        self.late_fouls = [0, 0]  # team fouls in the last two minutes of a period
        self.scoring_run = [0, 0]  # (side, points)
        self.info_cache: dict[tuple, tuple] = {}
        self.plans: list = [None, None]  # per team: the period's planned lineup changes (times, fives)
        # the possession under way: clock, side with the ball, dead ball, second chance, who
        # got the offensive rebound
        self.t = 0
        self.poss = 0
        self.dead = True
        self.second = False
        self.oreb_by: Player | None = None

    # ---- the game's flow ---------------------------------------------------------------------

    def simulate(self) -> list[tuple]:
        opening_winner = 0
        while True:
            self.per += 1
            if self.per > 4 and self.score[0] != self.score[1]:
                return self.events
            self._start_period()
            if self.per == 1 or self.per >= 5:
                self.poss = self.jump_ball()
                if self.per == 1:
                    opening_winner = self.poss
            else:
                self.poss = 1 - opening_winner if self.per in (2, 3) else opening_winner
            self.t = 0
            self.dead = True
            while self.t < self.plen:
                self._possession()
            self.emit(C_END, self.plen, None, desc=f"End of {period_name(self.per)}")

    def _start_period(self) -> None:
        per = self.per
        self.plen = plen = 720 if per <= 4 else 300
        self.team_fouls[0] = self.team_fouls[1] = 0
        self.late_fouls[0] = self.late_fouls[1] = 0
        self.bonus = 5 if per <= 4 else 4
        for side, tg in enumerate(self.teams):
            plan = self.plans[side] = period_plan(tg, per, plen)
            tg.lineup = plan[1][0] if tg.garbage is None else tg.garbage
            tg.info = self.cached_info(tg.lineup)
        self.emit(C_START, 0, None, desc=f"Start of {period_name(per)}")

    def _possession(self) -> None:
        """One possession: what happens at a dead ball, how long the play takes, then its
        actions (offensive rebounds keep it going)."""
        rnd = self.rnd
        plen = self.plen
        off = self.poss
        de = 1 - off
        if self.dead:
            if rnd() < 0.012:
                self.technical(self.t)
            self.maybe_timeout(self.t, off)
            self.dead_ball(self.t)
        t0 = self.t
        rem = plen - t0
        d = int(self.rng.triangular(4.0, 25.0, 13.6))
        last_shot = False
        if d >= rem:
            if rem <= 3:  # no time for a play: now and then a heave, and the period is over
                if rnd() < 0.22:
                    self.shot(plen, off, heave=True)
                self.t = plen
                return
            last_shot = True
            self.t = plen - self.randint(0, 1)
        else:
            self.t += d
        score = self.score
        self.second = False
        self.oreb_by = None
        first = True
        while True:
            r = rnd()
            if last_shot:
                r = 1.0
            elif self.second:
                r = r * 0.55 + 0.45 if r > 0.08 else r  # fewer turnovers/fouls on put-backs
            if r < P_TO:
                self.dead = self.turnover(self.t, off)
                self.poss = de
                return
            intentional = (
                first and self.per >= 4 and plen - t0 <= 45 and 0 < score[off] - score[de] <= 8 and rnd() < 0.75
            )
            first = False
            if intentional or r < P_TO + P_NSFOUL:
                goes_on = self._floor_foul(off, t0, intentional)
            elif r < P_TO + P_NSFOUL + P_VIOL:
                goes_on = self._violation(off)
            else:
                goes_on = self._shot_attempt(off)
                last_shot = False
            if not goes_on:
                return

    def _floor_foul(self, off: int, t0: int, intentional: bool) -> bool:
        """A foul away from the shot (a take foul when `intentional`, late in a close game);
        free throws in the bonus. Whether the possession goes on."""
        de = 1 - off
        tgd = self.teams[de]
        fouler = self.pick(tgd.lineup, tgd.info[5])
        if intentional:
            kind = "personal take"
            self.t = min(self.t, t0 + self.randint(1, 4))
        else:
            names, cw = NS_FOULS
            kind = names[bisect(cw, self.rnd())]
        tgo = self.teams[off]
        fouled = self.pick(tgo.lineup, tgo.info[0])
        t = self.t
        self.foul(t, de, fouler, fouled, kind)
        if intentional or self.team_fouls[de] >= self.bonus or self.late_fouls[de] >= 2:
            self.dead_ball(t, (fouled,))
            if self.free_throws(t, off, fouled, 2):
                self.poss, self.dead = de, True
                return False
            self.poss, o = self.rebound(t, off, True)
            self.dead = False
            if o:
                self.oreb_by = self.events[-1][8]
                self.second = self.oreb_by is not None
                self.t = min(self.plen, t + self.randint(2, 8))
                return True
            return False
        self.dead_ball(t)
        self.t = min(self.plen, t + self.randint(2, 12))
        return self.t < self.plen

    def _violation(self, off: int) -> bool:
        """A defensive violation: the offense keeps the ball. Whether the possession goes on."""
        de = 1 - off
        tgd = self.teams[de]
        t = self.t
        if self.rnd() < 0.75:
            p = self.pick(tgd.lineup, tgd.info[5])
            self.emit(C_VIOL, t, de, p, tkey="kicked ball", desc=f"{p.last} Violation:Kicked Ball")
        else:
            self.emit(C_VIOL, t, de, None, tkey="delay of game", desc=f"{tgd.nick} Violation: Delay Of Game")
        self.dead_ball(t)
        self.t = min(self.plen, t + self.randint(2, 10))
        return self.t < self.plen

    def _shot_attempt(self, off: int) -> bool:
        """A shot (a put-back now and then after an offensive rebound). Whether the possession
        goes on: an offensive rebound with time left."""
        putback = None
        if self.second and self.oreb_by is not None and self.rnd() < 0.33:
            putback = self.oreb_by
        side, o, self.dead = self.shot(self.t, off, putback=putback)
        if side != off or not o:
            self.poss = side
            return False
        self.t = t = min(self.plen, self.t + 1)
        self.oreb_by = self.events[-1][8]
        if self.oreb_by is None:  # team rebound: inbound, new action
            self.second = False
            self.dead = True
            self.dead_ball(t)
        else:
            self.second = True
        if t >= self.plen:
            return False
        self.t = min(self.plen, t + (self.randint(1, 3) if self.second else self.randint(3, 10)))
        return True

    # ---- the events --------------------------------------------------------------------------

    def emit(
        self,
        code,
        el,
        side,
        player=None,
        p2=None,
        p3=None,
        num=None,
        outof=None,
        points=None,
        result=None,
        tkey=None,
        dist=None,
        x=None,
        y=None,
        desc="",
    ):
        score, teams = self.score, self.teams
        self.events.append(
            (
                code,
                self.per,
                el,
                score[0],
                score[1],
                teams[0].lineup,
                teams[1].lineup,
                side,
                player,
                p2,
                p3,
                num,
                outof,
                points,
                result,
                tkey,
                dist,
                x,
                y,
                desc,
            )
        )

    def pick(self, lineup: tuple, cw: list[float]) -> Player:
        return lineup[bisect(cw, self.rnd())]

    def cached_info(self, lineup: tuple) -> tuple:
        info = self.info_cache.get(lineup)
        if info is None:
            info = self.info_cache[lineup] = lineup_info(lineup)
        return info

    def jump_ball(self) -> int:
        """The centres jump; the side that gets the tip."""
        teams = self.teams
        ja, jh = teams[0].lineup[4], teams[1].lineup[4]
        win = 0 if self.rnd() < 0.5 else 1
        tgw = teams[win]
        to_p = self.pick(tgw.lineup, tgw.info[1])
        if to_p is (ja if win == 0 else jh):
            to_p = tgw.lineup[0]
        self.emit(C_JUMP, 0, win, to_p, p2=ja, p3=jh, desc=f"Jump Ball {ja.last} vs. {jh.last}: Tip to {to_p.last}")
        return win

    def subs(self, side: int, el: int, exclude: tuple = ()) -> None:
        """Bring the five on court to the planned five, one substitution at a time; those in
        `exclude` (a player about to shoot free throws) stay on."""
        tg = self.teams[side]
        if tg.garbage is not None:
            target = tg.garbage
        else:
            times, fives = self.plans[side]
            target = fives[bisect(times, el) - 1]
        lin = tg.lineup
        if lin is target:
            return
        if lin == target:
            tg.lineup = target
            return
        cur = list(lin)
        for i in range(5):
            inn = target[i]
            out = cur[i]
            if out is inn or out in exclude or inn in cur:
                continue
            cur[i] = inn
            tg.lineup = tuple(cur)
            score, teams = self.score, self.teams
            self.events.append(
                (
                    C_SUB,
                    self.per,
                    el,
                    score[0],
                    score[1],
                    teams[0].lineup,
                    teams[1].lineup,
                    side,
                    None,
                    inn,
                    out,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    f"SUB: {inn.last} FOR {out.last}",
                )
            )
        if tg.lineup is not lin:
            tg.info = self.cached_info(tg.lineup)

    def garbage_check(self, el: int) -> None:
        """A blowout late in the fourth: both benches empty for the rest of the game."""
        score = self.score
        if self.per != 4 or el < 430 or abs(score[0] - score[1]) < 18:
            return
        for tg in self.teams:
            if tg.garbage is not None:
                continue
            pool = sorted(tg.deep, key=lambda p: -p.rating) + sorted(tg.bk, key=lambda p: p.rating)
            group = pool[:5]
            if len(group) < 5:
                continue
            cur = list(tg.lineup)
            slots = [None] * 5
            for i in range(5):
                if cur[i] in group:
                    slots[i] = cur[i]
            rest = [p for p in group if p not in slots]
            for i in range(5):
                if slots[i] is None:
                    slots[i] = rest.pop(0)
            tg.garbage = tuple(slots)

    def dead_ball(self, el: int, exclude: tuple = ()) -> None:
        self.garbage_check(el)
        self.subs(0, el, exclude)
        self.subs(1, el, exclude)

    def maybe_timeout(self, el: int, off: int) -> None:
        # the team on the wrong end of a run calls it; otherwise now and then
        rnd = self.rnd
        run = self.scoring_run
        side = None
        if run[1] >= 8 and rnd() < 0.55:
            side = 1 - run[0]
        elif rnd() < 0.33:
            side = off if rnd() < 0.6 else 1 - off
        if side is None:
            return
        tg = self.teams[side]
        if tg.timeouts >= 7 or tg.last_timeout == len(self.events):
            return
        tg.timeouts += 1
        tg.last_timeout = len(self.events)
        run[0], run[1] = side, 0
        self.emit(C_TOUT, el, side, tkey="regular", desc=f"{tg.nick} Timeout: Regular (Reg.{tg.timeouts} Short 0)")

    def scored(self, side: int, pts: int) -> None:
        self.score[side] += pts
        run = self.scoring_run
        if run[0] == side:
            run[1] += pts
        else:
            run[0], run[1] = side, pts

    def free_throws(self, el: int, side: int, shooter: Player, n: int, tech: bool = False) -> bool:
        """Whether the last one was made."""
        rnd = self.rnd
        st = self.stats[shooter]
        made = False
        for k in range(1, n + 1):
            made = rnd() < shooter.ft
            label = "Technical" if tech else f"{k} of {n}"
            if made:
                self.scored(side, 1)
                st[0] += 1
                self.emit(
                    C_FT,
                    el,
                    side,
                    shooter,
                    num=k,
                    outof=n,
                    points=1,
                    result="made",
                    tkey="T" if tech else None,
                    desc=f"{shooter.last} Free Throw {label} ({st[0]} PTS)",
                )
            else:
                self.emit(
                    C_FT,
                    el,
                    side,
                    shooter,
                    num=k,
                    outof=n,
                    points=0,
                    result="missed",
                    tkey="T" if tech else None,
                    desc=f"MISS {shooter.last} Free Throw {label}",
                )
        return made

    def foul(
        self, el: int, side: int, fouler: Player, fouled: Player | None, kind: str, team_foul: bool = True
    ) -> None:
        st = self.stats[fouler]
        st[6] += 1
        if team_foul:
            self.team_fouls[side] += 1
            if el >= self.plen - 120:
                self.late_fouls[side] += 1
        self.emit(
            C_FOUL,
            el,
            side,
            fouler,
            p2=fouled,
            tkey=kind,
            desc=f"{fouler.last} {FOUL_DESC[kind]} (P{st[6]}.T{self.team_fouls[side]})",
        )

    def rebound(self, el: int, off: int, after_ft: bool = False) -> tuple[int, bool]:
        """The side that has the ball after the rebound, and whether it was offensive."""
        de = 1 - off
        r = self.rnd()
        p_team = 0.03 if after_ft else P_TEAM_REB
        p_off = 0.12 if after_ft else P_OREB
        if r < p_team:
            side = off if self.rnd() < 0.45 else de
            self.emit(
                C_REB, el, side, None, tkey="off" if side == off else "def", desc=f"{self.teams[side].nick} Rebound"
            )
            return side, side == off
        offensive = r < p_team + p_off
        side = off if offensive else de
        tg = self.teams[side]
        p = self.pick(tg.lineup, tg.info[2] if offensive else tg.info[1])  # by oreb or reb
        st = self.stats[p]
        st[4 if offensive else 5] += 1
        self.emit(
            C_REB, el, side, p, tkey="off" if offensive else "def", desc=f"{p.last} REBOUND (Off:{st[4]} Def:{st[5]})"
        )
        return side, offensive

    def shot(self, el: int, off: int, putback: Player | None = None, heave: bool = False) -> tuple[int, bool, bool]:
        """One field-goal attempt (or a shooting foul on a missed one): who shoots, from where,
        and whether it goes in. Returns (ball side, offensive rebound?, dead ball?)."""
        rnd = self.rnd
        tgo = self.teams[off]
        shooter = putback if putback is not None else self.pick(tgo.lineup, tgo.info[0])
        zone, title, x, y, p_make = self._spot(shooter, putback is not None, heave)
        is3 = zone >= ZC3
        fouled = not heave and rnd() < P_SFOUL[zone]
        made = rnd() < (p_make * 0.6 if fouled else p_make)
        d = distance(x, y)
        if fouled and not made:
            return self._shooting_foul(el, off, shooter, 3 if is3 else 2)
        if rnd() < P_UNKNOWN_XY:
            x = y = None
        words = f"{shooter.last} {d}' " if d else f"{shooter.last} "
        words += f"3PT {title}" if is3 else title
        assister = blocker = None
        if made:
            pts = 3 if is3 else 2
            self.scored(off, pts)
            sst = self.stats[shooter]
            sst[0] += pts
            if putback is None and not heave:
                assister = self._assister(off, shooter, zone)
            desc = f"{words} ({sst[0]} PTS)"
            if assister is not None:
                desc += f" ({assister.last} {self.stats[assister][1]} AST)"
        else:
            pts = 0
            if not heave:
                blocker = self._blocker(off, zone)
            desc = f"MISS {words}"
            if blocker is not None:
                desc += f" - {blocker.last} BLOCK ({self.stats[blocker][2]} BLK)"
        score, teams = self.score, self.teams
        self.events.append(
            (
                C_MADE if made else C_MISS,
                self.per,
                el,
                score[0],
                score[1],
                teams[0].lineup,
                teams[1].lineup,
                off,
                shooter,
                assister,
                blocker,
                None,
                None,
                pts,
                "made" if made else "missed",
                (title, is3),
                d,
                x,
                y,
                desc,
            )
        )
        if not made:
            side, o = self.rebound(min(el + 1, self.plen), off)
            return side, o, False
        if fouled:
            return self._shooting_foul(el, off, shooter, 1)
        return 1 - off, False, False

    def _spot(self, shooter: Player, putback: bool, heave: bool) -> tuple[int, str, int, int, float]:
        """Where a shot is taken from and how likely it goes in: (zone, shot type, x, y, P(make))."""
        if heave:
            x = self.randint(-240, 240)
            y = self.randint(420, 780)
            return ZATB, "Jump Shot" if self.rnd() < 0.6 else "Running Jump Shot", x, y, 0.03
        if putback:
            zone = ZRA
            names, cw = PUTBACK_CUM
            p_make = shooter.fg[ZRA] - 0.03
        else:
            zone = bisect(shooter.zcw, self.rnd())
            names, cw = SHOT_TYPE_CUM[zone]
            p_make = shooter.fg[zone]
        title = names[bisect(cw, self.rnd())]
        x, y = sample_xy(self.rng, zone)
        return zone, title, x, y, p_make

    def _assister(self, off: int, shooter: Player, zone: int) -> Player | None:
        """Who assisted a made shot, if anyone did."""
        if self.rnd() >= P_ASSIST[zone] * shooter.adep:
            return None
        tgo = self.teams[off]
        cw = tgo.info[6]
        for _ in range(4):
            cand = self.pick(tgo.lineup, cw)
            if cand is not shooter:
                self.stats[cand][1] += 1
                return cand
        return None

    def _blocker(self, off: int, zone: int) -> Player | None:
        """Who blocked a missed shot, if anyone did."""
        if self.rnd() >= P_BLOCK[zone]:
            return None
        tgd = self.teams[1 - off]
        blocker = self.pick(tgd.lineup, tgd.info[3])
        self.stats[blocker][2] += 1
        return blocker

    def _shooting_foul(self, el: int, off: int, shooter: Player, n: int) -> tuple[int, bool, bool]:
        """A shooting foul and `n` free throws; returns as `shot` does."""
        de = 1 - off
        tgd = self.teams[de]
        fouler = self.pick(tgd.lineup, tgd.info[5])
        self.foul(el, de, fouler, shooter, "shooting")
        self.dead_ball(el, (shooter,))
        if self.free_throws(el, off, shooter, n):
            return de, False, True
        side, o = self.rebound(el, off, True)
        return side, o, False

    def turnover(self, el: int, off: int) -> bool:
        """Whether the ball is dead after it (a steal keeps it live)."""
        de = 1 - off
        tgo, tgd = self.teams[off], self.teams[de]
        names, cw = TO_TYPES
        kind = names[bisect(cw, self.rnd())]
        if kind == "shot clock":
            tgo.team_to += 1
            self.emit(C_TO, el, off, None, tkey=kind, desc=f"{tgo.nick} Turnover: Shot Clock (T#{tgo.team_to})")
            return True
        p = self.pick(tgo.lineup, tgo.info[0])
        if kind == "offensive foul":
            drew = self.pick(tgd.lineup, tgd.info[5])
            self.foul(el, off, p, drew, "offensive", team_foul=False)
        st = self.stats[p]
        st[7] += 1
        tgo.team_to += 1
        base = f"{p.last} {TO_DESC[kind]} Turnover (P{st[7]}.T{tgo.team_to})"
        if self.rnd() < TO_STEAL.get(kind, 0.0):
            stealer = self.pick(tgd.lineup, tgd.info[4])
            sst = self.stats[stealer]
            sst[3] += 1
            self.emit(C_TO, el, off, p, p3=stealer, tkey=kind, desc=f"{base} - {stealer.last} STEAL ({sst[3]} STL)")
            return False
        self.emit(C_TO, el, off, p, tkey=kind, desc=base)
        return True

    def technical(self, el: int) -> None:
        """A technical (or defensive three seconds) at a dead ball, and its free throw."""
        side = 0 if self.rnd() < 0.5 else 1
        tg = self.teams[side]
        if self.rnd() < 0.3:
            fouler = self.pick(tg.lineup, tg.info[5])
            kind = "defense 3 second"
        else:
            fouler = self.pick(tg.lineup, tg.info[0])
            kind = "technical"
        st = self.stats[fouler]
        self.emit(
            C_FOUL,
            el,
            side,
            fouler,
            tkey=kind,
            desc=f"{fouler.last} {FOUL_DESC[kind]} (P{st[6]}.T{self.team_fouls[side]})",
        )
        other = self.teams[1 - side]
        shooter = max(other.lineup, key=lambda p: (p.ft, p.pid))
        self.free_throws(el, 1 - side, shooter, 1, tech=True)
