#!/bin/sh
# Re-extract every translatable string, merge it into each catalogue and report what is left to do.
#
#   scripts/update_translations.sh          extract, update velferdslab/translations/*/messages.po, report
#   scripts/update_translations.sh --check  the same, then exit 1 if any message is untranslated or fuzzy
#
# The source language is Norwegian bokmål (the msgids); velferdslab/translations/<lang>/ holds one
# catalogue per other language (today: en). New strings arrive untranslated, changed strings arrive
# fuzzy (with the old translation as a suggestion): translate them, remove the "fuzzy" flag, run
# `make translations` (compiles the .mo files) and `pytest tests/test_i18n.py`.
set -eu
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
DIR=velferdslab/translations
POT=$DIR/messages.pot
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

# Keywords are also listed in babel.cfg (pybabel merges both); tests/test_i18n.py reads babel.cfg.
NEW_POT=$(mktemp)
trap 'rm -f "$NEW_POT"' EXIT
"$BIN/pybabel" -q extract -F babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: \
    --add-location=file --sort-by-file --project=Velferdslab --copyright-holder="Velferdslab" \
    --msgid-bugs-address="" -o "$NEW_POT" .
# Keep the old template when only its creation date would change (no churn in git).
if [ -e "$POT" ] && [ "$(grep -v '^"POT-Creation-Date' "$POT")" = "$(grep -v '^"POT-Creation-Date' "$NEW_POT")" ]; then
    :
else
    cp "$NEW_POT" "$POT"
fi

for po in "$DIR"/*/LC_MESSAGES/messages.po; do
    [ -e "$po" ] || continue
    lang=$(basename "$(dirname "$(dirname "$po")")")
    # nynorsk covers only the family's pages: no guesses from similar bokmål strings there
    # (a wrong suggestion with other placeholders would not even compile)
    fuzzy=""
    [ "$lang" = "nn" ] && fuzzy="--no-fuzzy-matching"
    "$BIN/pybabel" -q update -i "$POT" -d "$DIR" -l "$lang" --ignore-obsolete --ignore-pot-creation-date $fuzzy
done

"$BIN/python" - "$DIR" "$CHECK" <<'PY'
import pathlib
import sys

from babel.messages.pofile import read_po

directory, check = pathlib.Path(sys.argv[1]), sys.argv[2] == "1"
todo = 0
for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
    with po.open("rb") as handle:
        catalog = read_po(handle)
    messages = [m for m in catalog if m.id]
    fuzzy = [m for m in messages if m.fuzzy]
    untranslated = [m for m in messages if not m.fuzzy and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    todo += len(untranslated) + len(fuzzy)
    print(f"{po}: {len(messages)} messages, {len(untranslated)} untranslated, {len(fuzzy)} fuzzy")
    for message in (untranslated + fuzzy)[:20]:
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        print(f"  {'fuzzy' if message.fuzzy else 'new  '}  {msgid[:100]!r}")
    if len(untranslated) + len(fuzzy) > 20:
        print(f"  … and {len(untranslated) + len(fuzzy) - 20} more")
sys.exit(1 if check and todo else 0)
PY
