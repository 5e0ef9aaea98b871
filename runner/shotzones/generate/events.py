"""The format-neutral events a simulated game produces, and the renderers read.

Each event is a tuple, kept flat because a season has about 600,000 of them:
(code, period, elapsed, away_score, home_score, away_five, home_five, side, player, p2, p3,
 num, outof, points, result, tkey, dist, x, y, desc)
`side` is 0 for the away team and 1 for the home team (None for the period's start and end);
`player` does the event (for a jump ball: who gets the tip); p2 is the assister, the player
fouled, the one entering, or the away jumper; p3 the blocker, the stealer, the one leaving, or
the home jumper; `tkey` keys the event's type (for shots: (title, is three))."""

C_START, C_END, C_JUMP, C_MADE, C_MISS, C_FT, C_REB, C_FOUL, C_TO, C_SUB, C_TOUT, C_VIOL = range(12)
