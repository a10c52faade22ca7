"""Write the first fenced code block of LANG in docs/plugin-guide.md to OUT, so the test suite
builds exactly the minimal plugin the guide shows: `python3 guide_block.py python app.py`."""

import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugin-guide.md"


def main() -> int:
    lang, out = sys.argv[1], Path(sys.argv[2])
    text = GUIDE.read_text()
    fence = f"```{lang}\n"
    start = text.find(fence)
    if start < 0:
        print(f"{GUIDE} has no ```{lang} block", file=sys.stderr)
        return 1
    start += len(fence)
    end = text.find("```", start)
    if end < 0:
        print(f"{GUIDE}: the ```{lang} block is not closed", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    code = text[start:end]
    if not out.exists() or out.read_text() != code:
        out.write_text(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
