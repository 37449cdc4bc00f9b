#!/usr/bin/env bash
# Regenerate the figures of the experiment pages (docs/experiments/img/) at reduced cost:
# 5 replicates instead of 10, sweeps with 3 replicates per point; about 5 minutes on 2 cores.
# Run from the repository root with `make docs-figures` (`diffusion` must be on the PATH).
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
img=docs/experiments/img

run() {  # run NAME FIGURES...: run experiments/NAME.toml, keep the named figures
    local name=$1
    shift
    diffusion run "experiments/$name.toml" --out "$out/$name" --set run.replicates=5 --quiet
    diffusion plot "$out/$name" > /dev/null
    for figure in "$@"; do
        cp "$out/$name/$figure.png" "$img/$name-$figure.png"
        made+=("$img/$name-$figure.png")
    done
}

sweep() {  # sweep NAME FIGURES...: the config's sweep with 3 replicates per point
    local name=$1
    shift
    sed 's/^replicates = 10/replicates = 3/' "experiments/$name.toml" > "$out/$name.toml"
    diffusion sweep "$out/$name.toml" --out "$out/$name-sweep" --quiet
    diffusion plot "$out/$name-sweep" > /dev/null
    for figure in "$@"; do
        cp "$out/$name-sweep/$figure.png" "$img/$name-$figure.png"
        made+=("$img/$name-$figure.png")
    done
}

mkdir -p "$img"
made=()
run baseline states detections regions provinces media
run crackdown states detections
run travel-restriction regions provinces
run usb-vs-dvd media
run media-eras media regions provinces
run calibrated-2000-2020 media regions provinces
sweep crackdown sweep-reach_share sweep-detected
sweep travel-restriction sweep-reach_share
sweep usb-vs-dvd sweep-reach_share
sweep sweep-crackdown sweep-reach_share sweep-detected

# Keep the committed figures small: 256-colour palettes, no dithering (Pillow comes with
# matplotlib); a plot has few colours, so this is invisible and a third of the size.
python - "${made[@]}" <<'PY'
import sys

from PIL import Image

for path in sys.argv[1:]:
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    rgb.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
PY
