#!/usr/bin/env bash
# Set up everything pubkit needs on a fresh Debian machine, idempotently:
#   bash scripts/setup.sh           everything `pubkit build` and `pubkit check` use: Debian's libraries
#                                   for WeasyPrint, fonts, the CMYK profile, Java (EPUBCheck), Node.js,
#                                   Chromium and Ace by DAISY, and a .venv with pubkit
#   bash scripts/setup.sh --test    also poppler-utils and the test dependencies
#   bash scripts/setup.sh --bench   the test set-up plus the benchmarks' baseline (pandoc, from PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_bench=0
[[ "${1:-}" == "--test" ]] && want_test=1
[[ "${1:-}" == "--bench" ]] && want_test=1 && want_bench=1

# Debian packages: WeasyPrint's Pango stack, HarfBuzz subsetting (fast font subsetting), the CMYK ICC
# profiles of libgs-common (press PDFs), Noto Core (Arabic, Hebrew, Devanagari, Bengali, Ethiopic,
# Nastaliq for Urdu ...) and Noto CJK for Chinese, Japanese and Korean: the scripts the theme's
# fonts do not cover and Noto Color Emoji (else those characters print as boxes, and pubkit warns),
# a Java runtime for EPUBCheck and Chromium and Node.js for Ace by DAISY (`pubkit check`); for the
# tests poppler-utils (pdffonts, pdftotext, pdftoppm) and zbar-tools (zbarimg reads the QR code).
debs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig libgs-common fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji
      chromium)
python3 -c 'import ensurepip, venv' 2>/dev/null || debs+=(python3-venv python3-pip)
command -v java >/dev/null 2>&1 || debs+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || debs+=(nodejs npm)
if (( want_test )); then debs+=(poppler-utils zbar-tools); fi
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: a project virtualenv with pubkit installed in editable mode.
[[ -x .venv/bin/python ]] || python3 -m venv .venv
extras=""; (( want_test )) && extras="[test]"; (( want_bench )) && extras="[test,bench]"
stamp=".venv/.pubkit-installed${extras}"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
  touch "$stamp"
fi

# Node: Ace by DAISY, which `pubkit check` runs (found in this folder's node_modules). Its install
# scripts download Electron, which fails behind a firewall and is not needed: Ace runs headless in
# Debian's chromium.
if [[ ! -x node_modules/.bin/ace-puppeteer || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
