"""The plays a game is made of: how often each happens (calibrated on real play-by-play) and the
words BigDataBall's descriptions use for them."""

from __future__ import annotations

from .court import ZATB, ZC3, ZMID, ZPAINT, ZRA
from .rotation import cumulative

SHOT_TYPES = {
    ZRA: (
        ("Layup", 22),
        ("Driving Layup", 25),
        ("Dunk", 10),
        ("Driving Dunk", 5),
        ("Alley Oop Dunk", 4),
        ("Cutting Layup", 7),
        ("Reverse Layup", 5),
        ("Driving Finger Roll Layup", 5),
        ("Running Layup", 5),
        ("Alley Oop Layup", 2),
        ("Driving Reverse Layup", 3),
        ("Cutting Dunk", 2),
        ("Hook Shot", 2),
    ),
    ZPAINT: (
        ("Floating Jump Shot", 20),
        ("Driving Floating Jump Shot", 18),
        ("Hook Shot", 12),
        ("Turnaround Hook Shot", 8),
        ("Jump Shot", 12),
        ("Turnaround Jump Shot", 7),
        ("Driving Layup", 8),
        ("Layup", 5),
        ("Pullup Jump Shot", 6),
        ("Fadeaway Jump Shot", 4),
    ),
    ZMID: (
        ("Jump Shot", 30),
        ("Pullup Jump Shot", 25),
        ("Step Back Jump Shot", 10),
        ("Fadeaway Jump Shot", 8),
        ("Turnaround Fadeaway Jump Shot", 7),
        ("Turnaround Jump Shot", 8),
        ("Driving Floating Jump Shot", 4),
        ("Running Jump Shot", 4),
        ("Floating Jump Shot", 4),
    ),
    ZC3: (
        ("Jump Shot", 80),
        ("Pullup Jump Shot", 6),
        ("Step Back Jump Shot", 4),
        ("Running Jump Shot", 6),
        ("Turnaround Jump Shot", 2),
        ("Fadeaway Jump Shot", 2),
    ),
    ZATB: (
        ("Jump Shot", 55),
        ("Pullup Jump Shot", 18),
        ("Step Back Jump Shot", 11),
        ("Running Jump Shot", 6),
        ("Running Pull-Up Jump Shot", 5),
        ("Turnaround Jump Shot", 2),
        ("Fadeaway Jump Shot", 2),
        ("Jump Bank Shot", 1),
    ),
}
PUTBACK_TYPES = (("Putback Layup", 45), ("Tip Layup", 30), ("Putback Dunk", 20), ("Tip Dunk", 5))


def _cum(items):
    return [n for n, _ in items], cumulative([w for _, w in items])


SHOT_TYPE_CUM = {z: _cum(v) for z, v in SHOT_TYPES.items()}
PUTBACK_CUM = _cum(PUTBACK_TYPES)

# calibration (per attempt or per possession)
P_ASSIST = (0.66, 0.42, 0.45, 0.97, 0.9)  # assisted share of makes by zone
P_BLOCK = (0.26, 0.21, 0.085, 0.03, 0.03)  # blocked share of misses by zone
P_SFOUL = (0.2, 0.11, 0.05, 0.017, 0.017)  # shooting foul per attempt by zone
P_UNKNOWN_XY = 0.015
P_TO = 0.125
P_NSFOUL = 0.09
P_VIOL = 0.012
P_OREB = 0.245
P_TEAM_REB = 0.06

TO_TYPES = _cum(
    (
        ("bad pass", 36),
        ("lost ball", 25),
        ("traveling", 9),
        ("offensive foul", 11),
        ("out of bounds lost ball", 6),
        ("out of bounds bad pass", 3),
        ("shot clock", 4),
        ("3 second violation", 2),
        ("step out of bounds", 2),
        ("discontinued dribble", 1),
        ("offensive goaltending", 1),
    )
)
TO_STEAL = {"bad pass": 0.7, "lost ball": 0.8}
TO_DESC = {
    "bad pass": "Bad Pass",
    "lost ball": "Lost Ball",
    "traveling": "Traveling",
    "offensive foul": "Offensive Foul",
    "out of bounds lost ball": "Out of Bounds Lost Ball",
    "out of bounds bad pass": "Out of Bounds - Bad Pass Turnover",
    "shot clock": "Shot Clock",
    "3 second violation": "3 Second Violation",
    "step out of bounds": "Step Out of Bounds",
    "discontinued dribble": "Discontinued Dribble",
    "offensive goaltending": "Offensive Goaltending",
}
NS_FOULS = _cum((("personal", 62), ("loose ball", 22), ("personal take", 10), ("away from play", 6)))
FOUL_DESC = {
    "shooting": "S.FOUL",
    "personal": "P.FOUL",
    "loose ball": "L.B.FOUL",
    "offensive": "OFF.Foul",
    "personal take": "Personal Take Foul",
    "away from play": "AWAY.FROM.PLAY.FOUL",
    "technical": "T.FOUL",
    "defense 3 second": "Defense 3 Second",
}
_ORD = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th"}


def period_name(per: int) -> str:
    return f"{_ORD[per]} Quarter" if per <= 4 else f"{_ORD.get(per - 4, f'{per - 4}th')} OT"
