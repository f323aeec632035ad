#!/bin/sh
# rom-variants.sh ROM DIR: writes corrupted copies of ROM into DIR for the VBIOS checks:
# truncated.rom (first 20000 bytes), checksum.rom (byte 0x1000 changed), signature.rom (55 aa zeroed).
set -eu
rom=$1; dir=$2
[ -s "$rom" ] || { echo "rom-variants.sh: $rom is missing or empty" >&2; exit 1; }
head -c 20000 "$rom" > "$dir/truncated.rom"
cp "$rom" "$dir/checksum.rom"
b=$(od -An -tu1 -j 4096 -N1 "$rom" | tr -d ' ')
printf "\\$(printf %03o $(( (b + 1) % 256 )))" | dd of="$dir/checksum.rom" bs=1 seek=4096 conv=notrunc 2>/dev/null
cp "$rom" "$dir/signature.rom"
printf '\000\000' | dd of="$dir/signature.rom" bs=1 seek=0 conv=notrunc 2>/dev/null
