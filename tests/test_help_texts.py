"""Every ``hf-reasoning`` help renders as clean wrapped paragraphs at 80 columns (issue 13): no
description is broken mid-sentence by a hard line break of its docstring.

A break is *hard* when the next line's first word would still have fitted on the line (a wrap
only moves a word that does not fit); it is *mid-sentence* when the line ends without
punctuation and the next line goes on in lower case, a backtick or a parenthesis. The check
reads the rendered text only: the panels' borders are blanked, a line continues the one above
when its text starts where a cell of the line above starts, and the right edge of each block
(a panel, or the text outside panels) is the longest line in it.
"""

from __future__ import annotations

import pytest

from hf_reasoning.cli import app, main

WIDTH = 80
END_OF_SENTENCE = ".:;!?"
# lm-eval hands --help to lm_eval's own command line: its text is lm_eval's, not ours
COMMANDS = [info.name for info in app.registered_commands if info.name != "lm-eval"]


def blocks(text: str) -> list[list[tuple[str, int]]]:
    """The rendered help cut into blocks, the inside of each panel and the text between panels:
    each line with its borders blanked, and the column its text may reach (the last before the
    padding space of a panel's right border; outside panels argparse's ``COLUMNS - 2``)."""
    out, current = [], []
    for line in text.splitlines():
        if line.lstrip().startswith(("╭", "╰")):
            out.append(current)
            current = []
            continue
        edge = line.rindex("│") - 1 if line.count("│") >= 2 else WIDTH - 2
        current.append((line.replace("│", " ").rstrip(), edge))
    out.append(current)
    return [b for b in out if any(line.strip() for line, _ in b)]


def mid_sentence_breaks(text: str) -> list[str]:
    """The pairs of lines ``A`` / ``B`` where a paragraph is broken mid-sentence."""
    found = []
    for block in blocks(text):
        for (a, edge), (b, _) in zip(block, block[1:]):
            if not a.strip() or not b.strip() or a.lstrip().startswith("usage:"):
                continue
            start = len(b) - len(b.lstrip())
            # B continues A's paragraph (same indentation) or A's table cell (text after a gap of 2+ spaces)
            if len(a) <= start or a[start] == " " or not (a[:start].isspace() or a[start - 2:start] == "  "):
                continue
            word = b.split()[0]
            if a[-1] in END_OF_SENTENCE or not (word[0].islower() or word[0] in "`(\"'"):
                continue
            if len(a) + 1 + len(word) <= edge:  # the word fitted: a hard break, not a wrap
                found.append(f"{a.strip()!r} / {b.strip()!r}")
    return found


def rendered_help(argv: list[str], capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    capsys.readouterr()
    try:
        main(argv)
    except SystemExit as exit_:  # argparse's --help (train, train-head) exits 0
        assert exit_.code in (0, None)
    return capsys.readouterr().out


def test_the_checker_finds_a_docstring_break_and_passes_a_wrap():
    def panel(*cells: str) -> str:  # a command table in a 40-column panel, description column at 11
        return "".join(f"│ {name:<8}  {text:<26} │\n" for name, text in cells)

    assert mid_sentence_breaks(panel(("publish", "Upload a folder: a"), ("", "dataset or a run folder."))) != []
    assert mid_sentence_breaks(panel(("publish", "Upload a folder: a dataset"), ("", "or a run folder."))) == []
    assert mid_sentence_breaks(panel(("publish", "Upload a folder."), ("", "then a new sentence."))) == []
    assert mid_sentence_breaks(" Train (options of `x --help`; also runs under\n `accelerate launch`).\n") != []
    assert mid_sentence_breaks("  --attn_implementation ATTN_IMPLEMENTATION\n                        eager or sdpa\n") == []


@pytest.mark.parametrize("argv", [["--help"]] + [[name, "--help"] for name in COMMANDS], ids=" ".join)
def test_help_has_no_mid_sentence_break(argv, capsys, monkeypatch):
    text = rendered_help(argv, capsys, monkeypatch)
    assert text.strip(), f"hf-reasoning {' '.join(argv)} printed nothing"
    assert max(len(line.rstrip()) for line in text.splitlines()) <= WIDTH
    assert mid_sentence_breaks(text) == [], f"hf-reasoning {' '.join(argv)}:\n{text}"


def test_every_command_is_listed_with_its_description(capsys, monkeypatch):
    text = rendered_help(["--help"], capsys, monkeypatch)
    for info in app.registered_commands:
        assert f" {info.name} " in text
