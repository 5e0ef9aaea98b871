"""The court: the five shot zones, where in a zone a shot is taken from, and how far out."""

from __future__ import annotations

import math
import random

# restricted area, paint (non-RA), mid-range, corner 3, above the break 3; coordinates in tenths
# of a foot from the basket, as BigDataBall's original_x and original_y
ZRA, ZPAINT, ZMID, ZC3, ZATB = range(5)


def classify(x: int, y: int) -> int:
    """Zone of a location (ZRA..ZATB) using SPEC section 4's rules; threes by geometry."""
    if (y <= 87.5 and (x >= 220 or x <= -220)) or (y > 87.5 and x * x + y * y >= 56406.25):
        return ZC3 if y <= 87.5 else ZATB
    if x * x + y * y <= 1600:
        return ZRA
    if -80 <= x <= 80 and y <= 137.5:
        return ZPAINT
    return ZMID


def sample_xy(rng: random.Random, zone: int) -> tuple[int, int]:
    rnd = rng.random
    while True:
        if zone == ZRA:
            r = 40.0 * rnd() ** 1.7
            a = (rnd() * 2.0 - 1.0) * 2.3
        elif zone == ZPAINT:
            x = round((rnd() + rnd() - 1.0) * 80.0)
            y = round(-45.0 + 182.0 * rnd() ** 0.8)
            if classify(x, y) == zone:
                return x, y
            continue
        elif zone == ZMID:
            r = 90.0 + 146.0 * (rnd() + rnd()) / 2.0
            a = (rnd() * 2.0 - 1.0) * 1.65
        elif zone == ZC3:
            x = round(220.0 + 27.0 * rnd() ** 2)
            if rnd() < 0.5:
                x = -x
            y = round(-47.0 + 134.0 * rnd())
            return x, y
        else:  # above the break
            r = 238.0 + 70.0 * rnd() ** 2.2
            a = (rnd() * 2.0 - 1.0) * 1.25
        x = round(r * math.sin(a))
        y = round(r * math.cos(a))
        if y >= -47 and -250 <= x <= 250 and classify(x, y) == zone:
            return x, y


def distance(x: int, y: int) -> int:
    """In whole feet, as the description's `25'`."""
    return int(math.sqrt(x * x + y * y) / 10.0 + 0.5)
