#!/usr/bin/env bash
# The CLI basics: --version facts, --help everywhere, config errors exit 2 naming the key.
source "$(dirname "$0")/lib.sh"
cfg="$EMBER_SOURCE_DIR/configs/nano/pretrain.yaml"

version=$("$EMBER_BIN" --version)
grep -q "^ember " <<<"$version" || die "--version lacks ember line: $version"
grep -q "libtorch 2.11" <<<"$version" || die "--version lacks libtorch 2.11: $version"
grep -q "^mpi: " <<<"$version" || die "--version lacks mpi: $version"
if command -v readelf >/dev/null; then
  ! readelf -d "$EMBER_BIN" | grep -q "libcuda.so" || die "ember has a load-time dependency on libcuda"
fi

"$EMBER_BIN" --help | grep -q pretrain || die "--help does not list pretrain"
for sub in $("$EMBER_BIN" --help | awk '/^SUBCOMMANDS:/{f=1;next} f&&NF{print $1}'); do
  "$EMBER_BIN" "$sub" --help >/dev/null || die "ember $sub --help failed"
done

# Printed config round-trips.
"$EMBER_BIN" pretrain --config "$cfg" --print-config > "$TMP/printed.yaml"
"$EMBER_BIN" pretrain --config "$TMP/printed.yaml" --print-config > "$TMP/again.yaml"
cmp -s "$TMP/printed.yaml" "$TMP/again.yaml" || die "print-config does not round-trip"
"$EMBER_BIN" pretrain --config "$cfg" train.steps=7 --print-config | grep -q "steps: 7" || die "override ignored"

# Errors: exit 2, message names the key (and the file for file errors).
expect_fail 2 "train.steps.*banana" "$EMBER_BIN" pretrain --config "$cfg" train.steps=banana
expect_fail 2 "unknown config key 'trian.steps'.*did you mean 'train.steps'" "$EMBER_BIN" pretrain --config "$cfg" trian.steps=3
printf 'base: %s\noptim:\n  lrr: 0.1\n' "$cfg" > "$TMP/typo.yaml"
expect_fail 2 "optim.lrr.*typo.yaml.*did you mean 'optim.lr'" "$EMBER_BIN" pretrain --config "$TMP/typo.yaml"
expect_fail 2 "not found" "$EMBER_BIN" pretrain --config "$TMP/missing.yaml"
expect_fail 2 "" "$EMBER_BIN" no-such-command
expect_fail 2 "unknown log level" "$EMBER_BIN" --log-level chatty version
printf 'some text 123\n' > "$TMP/text.txt"
expect_fail 2 "--digits: triple not in \\{grouped,single\\}" \
  "$EMBER_BIN" tokenizer train --input "$TMP/text.txt" --vocab-size 300 --out "$TMP/t.json" --digits triple
[ ! -e "$TMP/t.json" ] || die "a rejected tokenizer train wrote its output"
echo "e2e cli: ok"
