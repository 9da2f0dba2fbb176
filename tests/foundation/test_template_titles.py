"""Page titles are text: a block title that swallowed markup puts forms into <title>."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TITLE = re.compile(r"{% block title %}(.*?){% endblock %}", re.S)


def test_title_blocks_hold_no_markup():
    bad = []
    for path in [*ROOT.glob("app/templates/**/*.html"), *ROOT.glob("themes/*/templates/**/*.html")]:
        for title in TITLE.findall(path.read_text()):
            if "<" in title or "\n" in title.strip():
                bad.append(str(path.relative_to(ROOT)))
    assert not bad, f"title blocks with markup: {bad}"
