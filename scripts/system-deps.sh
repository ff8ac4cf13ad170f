#!/usr/bin/env bash
# Install the Debian packages addnn uses (compiler, simulators, synthesis, tclsh for the
# block-design check, headless Chromium for the report test, Fashion-MNIST).
# Idempotent: it asks apt only for what is missing, and only when running as root.
set -euo pipefail
packages=(g++ make verilator iverilog yosys tcl chromium dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "addnn: missing Debian packages (run as root to install): ${missing[*]}" >&2
  exit 0
fi
echo "addnn: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
