"""Fill gongzhi/locale/en/LC_MESSAGES/django.po from the tab-separated glossary beside this file.

Run after `manage.py makemessages -l en`: `python gongzhi/locale/translate.py && manage.py compilemessages`.
Entries missing from the glossary are listed so they can be added; they show in Chinese meanwhile.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PO = HERE / "en" / "LC_MESSAGES" / "django.po"
GLOSSARY = HERE / "en-glossary.tsv"


def main() -> int:
    glossary = {}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            zh, en = line.split("\t", 1)
            glossary[zh] = en
    text = PO.read_text(encoding="utf-8")
    missing = []

    def fill(match: re.Match[str]) -> str:
        head, body = match.group(1), match.group(2)
        msgid = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
        if not msgid:
            return match.group(0)
        english = glossary.get(msgid)
        if english is None:
            missing.append(msgid)
            return f"{head}msgid {body}msgstr \"\"\n"
        escaped = english.replace("\\", "\\\\").replace('"', '\\"')
        return f'{head}msgid {body}msgstr "{escaped}"\n'

    # The glossary is the one source of the English: every entry is (re)written from it, guesses included.
    text = re.sub(r'((?:#.*\n)*)msgid ((?:"(?:[^"\\]|\\.)*"\n)+)msgstr (?:"(?:[^"\\]|\\.)*"\n)+', fill, text)

    def fill_plural(match: re.Match[str]) -> str:
        """``{% blocktranslate count %}`` entries: msgstr[0] (one) and msgstr[1] (many) from the glossary line
        ``zh<TAB>one<TAB>many`` (or one English for both); never makemessages' fuzzy guess."""
        head, body, plural = match.group(1), match.group(2), match.group(3)
        msgid = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
        forms = glossary.get(msgid, "").split("\t")
        if not forms[0]:
            missing.append(msgid)
            forms = ["", ""]
        one, many = forms[0], forms[-1]

        def esc(value: str) -> str:
            return value.replace("\\", "\\\\").replace('"', '\\"')

        return (f'{head}msgid {body}msgid_plural {plural}msgstr[0] "{esc(one)}"\nmsgstr[1] "{esc(many)}"\n')

    text = re.sub(r'((?:#.*\n)*)msgid ((?:"(?:[^"\\]|\\.)*"\n)+)msgid_plural ((?:"(?:[^"\\]|\\.)*"\n)+)'
                  r'(?:msgstr\[\d\] (?:"(?:[^"\\]|\\.)*"\n)+)+', fill_plural, text)
    text = text.replace("#, fuzzy\n", "")
    # makemessages also writes "#, fuzzy, python-brace-format" and the previous msgid ("#| ..."): a fuzzy entry is
    # left out of the compiled catalogue, so the glossary's English would never show.
    text = re.sub(r"^#, fuzzy, ", "#, ", text, flags=re.M)
    text = re.sub(r"^#\| .*\n", "", text, flags=re.M)
    PO.write_text(text, encoding="utf-8")
    for m in missing:
        print("missing:", m, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
