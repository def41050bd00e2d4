#!/usr/bin/env bash
# Installs what certificate PDFs need (make run and make test both call this).
set -euo pipefail

source "$(dirname "$0")/apt.sh"

# The registration certificate PDF is set in Noto CJK; without it Chinese prints as boxes.
if ! fc-list | grep -i "Noto Sans CJK" >/dev/null; then
  echo "installing Noto CJK fonts"
  apt_install fonts-noto-cjk
fi
# Without HarfBuzz's subsetter WeasyPrint subsets the CJK fonts with fontTools: 20 s a certificate, not 1 s.
if ! ldconfig -p | grep libharfbuzz-subset >/dev/null; then
  apt_install libharfbuzz-subset0
fi
