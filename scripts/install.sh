#!/usr/bin/env bash
# Installs klingkit as it ships: the release binary with the Swift runtime linked in, stripped, plus
# its man page and shell completions.
#
#   scripts/install.sh [PREFIX]        (default PREFIX: /usr/local)
#
# Writes PREFIX/bin/klingkit, PREFIX/share/man/man1/klingkit*.1, and completions for bash, zsh and fish
# under PREFIX/share. Set DESTDIR to stage the files elsewhere (packaging). Set KLINGKIT_BUILD_DIR to
# reuse an existing build folder (default .build-static), and KLINGKIT_BUILD_CONFIGURATION=debug to
# install a debug build (CI does, into a DESTDIR, to prove this script works without a release build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${1:-/usr/local}"
dest="${DESTDIR:-}${prefix}"
build="${KLINGKIT_BUILD_DIR:-$root/.build-static}"
config="${KLINGKIT_BUILD_CONFIGURATION:-release}"

cd "$root"
if [ "$config" = release ]; then
  echo "building the static release binary in $build (a first build takes ~10 minutes)..."
  bash "$root/scripts/release-build.sh" "$build"
else
  echo "building the $config binary in $build..."
  swift build -c "$config" --scratch-path "$build" --product klingkit
fi
bin="$build/$config/klingkit"

install -d "$dest/bin" "$dest/share/man/man1" \
  "$dest/share/bash-completion/completions" "$dest/share/zsh/site-functions" \
  "$dest/share/fish/vendor_completions.d"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$bin" "$tmp/klingkit"
strip "$tmp/klingkit"
install -m 0755 "$tmp/klingkit" "$dest/bin/klingkit"

# Man pages come from the command definitions themselves (ArgumentParser's generate-manual plugin), so
# they never drift from --help. The plugin chooses its own output folder (it refuses --output-directory).
swift package --scratch-path "$build" plugin generate-manual --configuration "$config" --multi-page >/dev/null
pages=("$build"/plugins/GenerateManual/outputs/KlingKitTool/klingkit*.1)
[ -e "${pages[0]}" ] || { echo "install.sh: generate-manual wrote no man pages" >&2; exit 1; }
install -m 0644 "${pages[@]}" "$dest/share/man/man1/"

"$dest/bin/klingkit" --generate-completion-script bash > "$dest/share/bash-completion/completions/klingkit"
"$dest/bin/klingkit" --generate-completion-script zsh > "$dest/share/zsh/site-functions/_klingkit"
"$dest/bin/klingkit" --generate-completion-script fish > "$dest/share/fish/vendor_completions.d/klingkit.fish"

size=$(stat -c %s "$dest/bin/klingkit")
echo "installed $dest/bin/klingkit ($((size / 1048576)) MiB, stripped), man pages and completions"
echo "runtime libraries it needs (Debian packages: libjpeg62-turbo, libpng16-16, liblcms2-2, and what the"
echo "formats add):"
ldd "$dest/bin/klingkit" | awk '/=>/ {print "  " $1}' | sort -u
