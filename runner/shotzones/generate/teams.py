"""The thirty teams: abbreviation, nickname, conference and division."""

TEAMS = (
    ("BOS", "Celtics", "E", "Atlantic"),
    ("BKN", "Nets", "E", "Atlantic"),
    ("NYK", "Knicks", "E", "Atlantic"),
    ("PHI", "76ers", "E", "Atlantic"),
    ("TOR", "Raptors", "E", "Atlantic"),
    ("CHI", "Bulls", "E", "Central"),
    ("CLE", "Cavaliers", "E", "Central"),
    ("DET", "Pistons", "E", "Central"),
    ("IND", "Pacers", "E", "Central"),
    ("MIL", "Bucks", "E", "Central"),
    ("ATL", "Hawks", "E", "Southeast"),
    ("CHA", "Hornets", "E", "Southeast"),
    ("MIA", "Heat", "E", "Southeast"),
    ("ORL", "Magic", "E", "Southeast"),
    ("WAS", "Wizards", "E", "Southeast"),
    ("DEN", "Nuggets", "W", "Northwest"),
    ("MIN", "Timberwolves", "W", "Northwest"),
    ("OKC", "Thunder", "W", "Northwest"),
    ("POR", "Trail Blazers", "W", "Northwest"),
    ("UTA", "Jazz", "W", "Northwest"),
    ("GSW", "Warriors", "W", "Pacific"),
    ("LAC", "Clippers", "W", "Pacific"),
    ("LAL", "Lakers", "W", "Pacific"),
    ("PHX", "Suns", "W", "Pacific"),
    ("SAC", "Kings", "W", "Pacific"),
    ("DAL", "Mavericks", "W", "Southwest"),
    ("HOU", "Rockets", "W", "Southwest"),
    ("MEM", "Grizzlies", "W", "Southwest"),
    ("NOP", "Pelicans", "W", "Southwest"),
    ("SAS", "Spurs", "W", "Southwest"),
)
N_TEAMS = len(TEAMS)
ABBR = tuple(t[0] for t in TEAMS)
NICK = tuple(t[1] for t in TEAMS)
