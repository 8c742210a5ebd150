#!/usr/bin/env bash
# Installs the anchor tools the benchmarks compare KlingKit with (Debian packages and PyPI).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq imagemagick libvips-tools libjpeg-turbo-progs hyperfine time valgrind \
  libpng-dev libjpeg-dev pkg-config >/dev/null
python3 -m pip install -q pillow numpy pyvips pybase64 fastpybase64
echo "anchors installed: $(convert -version | head -1 | cut -d' ' -f2-3), vips $(vips --version | cut -d- -f2),"\
  "Pillow $(python3 -c 'import PIL; print(PIL.__version__)'), pybase64 $(python3 -c 'import pybase64; print(pybase64.__version__)')"
