#!/usr/bin/env bash
# Proves scripts/install.sh works: installs the debug build (no release build needed) into a staging
# DESTDIR and checks what landed: the binary runs, a man page per command renders, and the completion
# scripts parse. CI runs it after `swift build`; locally: scripts/install-check.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
KLINGKIT_BUILD_CONFIGURATION=debug KLINGKIT_BUILD_DIR="${KLINGKIT_BUILD_DIR:-$root/.build}" DESTDIR="$stage" \
  bash "$root/scripts/install.sh" /usr/local > "$stage/install.log"
prefix="$stage/usr/local"
fail() { echo "install-check: $*" >&2; exit 1; }

"$prefix/bin/klingkit" --version > /dev/null || fail "the installed klingkit does not run"
# One page for the tool and one for every command --help lists.
commands=$("$prefix/bin/klingkit" --help | awk '/^SUBCOMMANDS:/ {on=1; next} on && /^  [a-z]/ {print $1}')
[ -n "$commands" ] || fail "klingkit --help lists no subcommands"
for page in klingkit $(printf 'klingkit.%s ' $commands); do
  file="$prefix/share/man/man1/$page.1"
  [ -f "$file" ] || fail "no man page $page.1"
  grep -q '^\.Sh NAME' "$file" || fail "$page.1 has no NAME section"
done
if command -v man > /dev/null; then
  MANWIDTH=80 man -l "$prefix/share/man/man1/klingkit.check.1" 2>/dev/null | grep -q -- '--json' \
    || fail "man -l klingkit.check.1 does not render the check options"
fi
bash -n "$prefix/share/bash-completion/completions/klingkit" || fail "the bash completion script does not parse"
grep -q '^#compdef klingkit' "$prefix/share/zsh/site-functions/_klingkit" || fail "the zsh completion script has no #compdef"
grep -q "complete -c 'klingkit'" "$prefix/share/fish/vendor_completions.d/klingkit.fish" || fail "the fish completion script is empty"
pages=$(ls "$prefix/share/man/man1" | wc -l)
echo "install-check: klingkit, $pages man pages and bash/zsh/fish completions installed and checked"
