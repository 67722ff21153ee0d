#!/usr/bin/env bash
# End-to-end check of the WDM samples as real drivers under Wine's kernel-driver host.
#
# Builds the echo and null-device drivers (.sys, x86_64-pc-windows-msvc, rust-lld, no WDK), the
# checking client and the samples' own clients, makes a throwaway Wine prefix, loads each driver
# as a kernel service, runs the clients against it, stops and deletes the service, and reads
# what the driver printed (DbgPrint). Prints `N passed, M failed` and exits non-zero on any
# failure. Every Wine command runs under a timeout; only this run's own prefix (and its
# wineserver) is touched. Builds go where cargo puts them (CARGO_TARGET_DIR is honoured).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

passed=0
failed=0
check() { # check <ok:0|1> <what>
  if [ "$1" = 0 ]; then passed=$((passed + 1)); echo "PASS - $2"; else failed=$((failed + 1)); echo "FAIL - $2"; fi
}

if ! command -v wine >/dev/null 2>&1 || ! command -v wineserver >/dev/null 2>&1; then
  echo "==> installing Wine"
  timeout 600 apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq wine64 wine >/dev/null
fi
rustup target add x86_64-pc-windows-msvc >/dev/null 2>&1 || true

samples="$(cd "$here/../../samples" && pwd)"
prefix_free="$(mktemp -d /tmp/wdf-safe-free.XXXXXX)"

# Where cargo puts a workspace's release builds for Windows (CARGO_TARGET_DIR, a config file, or
# the workspace's own target/).
windows_out() { # windows_out <workspace dir>
  local dir
  dir=$(cd "$1" && cargo metadata --format-version 1 --no-deps --locked 2>/dev/null \
    | grep -o '"target_directory":"[^"]*"' | head -1 | sed 's/.*:"\(.*\)"/\1/')
  echo "${dir:-$1/target}/x86_64-pc-windows-msvc/release"
}

echo "==> building the drivers and the clients"
cargo build --release --locked --target x86_64-pc-windows-msvc -q || { echo "0 passed, 1 failed"; exit 1; }
for sample in echo null-device; do
  (cd "$samples/$sample/client" && cargo build --release --locked --target x86_64-pc-windows-msvc -q) \
    || { echo "0 passed, 1 failed"; exit 1; }
done
out="$(windows_out "$here")"
cp "$out/echo_driver.dll" "$out/echo.sys"
cp "$out/null_device_driver.dll" "$out/null_device.sys"

# A free build (no `trace` feature) compiles every kd_print! out: its image has none of the trace
# text the checked build above carries. Built into its own directory, so the harness's drivers
# stay the checked ones.
free="$prefix_free/target"
cargo build --release --locked --target x86_64-pc-windows-msvc -q -p echo-driver \
  --no-default-features --target-dir "$free" || { echo "0 passed, 1 failed"; exit 1; }
checked_lines=$(grep -ac "echoing value" "$out/echo.sys" || true)
free_lines=$(grep -ac "echoing value" "$free/x86_64-pc-windows-msvc/release/echo_driver.dll" || true)
checked_size=$(stat -c %s "$out/echo.sys")
free_size=$(stat -c %s "$free/x86_64-pc-windows-msvc/release/echo_driver.dll")
check "$([ "$checked_lines" -gt 0 ] && [ "$free_lines" = 0 ] && echo 0 || echo 1)" \
  "a free build of echo.sys has no trace text ($free_size bytes; checked build: $checked_size)"

objdump="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-objdump"
for sys in echo null_device; do
  dlls=$("$objdump" -p "$out/$sys.sys" | awk '/DLL Name:/ {print tolower($3)}' | sort -u | tr '\n' ' ')
  bad=$(echo "$dlls" | tr ' ' '\n' | grep -v -e '^$' -e '^ntoskrnl.exe$' -e '^hal.dll$' || true)
  check "$([ -z "$bad" ] && echo 0 || echo 1)" "$sys.sys imports only the kernel: $dlls"
done

prefix="$(mktemp -d /tmp/wdf-safe-wine.XXXXXX)"
log="$prefix/session.log"
export WINEPREFIX="$prefix/prefix" WINEDLLOVERRIDES="mscoree,mshtml=" WINEDEBUG=-all
unset DISPLAY
cleanup() {
  timeout 20 wineserver -k >/dev/null 2>&1 || true
  rm -rf "$prefix" "$prefix_free"
}
trap cleanup EXIT

echo "==> making a Wine prefix"
timeout 180 wine wineboot -i >/dev/null 2>&1
# wineboot returns while its server is still winding down; a persistent server started before it
# is gone does not take (and without one the driver host exits seconds after the last process).
timeout 60 wineserver -w >/dev/null 2>&1
timeout 20 wineserver -p >/dev/null 2>&1
# The driver host inherits the first process's environment and stderr: DbgPrint shows there.
WINEDEBUG=-all,+debugstr timeout 60 wine cmd /c exit 2>"$log"

zpath() { echo "Z:$(echo "$1" | tr '/' '\\')"; }

run_sample() { # run_sample <service> <sys> <client argument> <trace prefix>
  local service=$1 sys=$2 sample=$3 tag=$4
  echo "==> $sample"
  timeout 60 wine sc create "$service" type= kernel start= demand binPath= "$(zpath "$out/$sys")" >/dev/null 2>&1
  timeout 60 wine sc start "$service" 2>&1 | grep -E "STATE|FAILED" | sed "s/^ */    sc start: /"
  local client_out
  client_out=$(timeout 60 wine "$out/wine-client.exe" "$sample" 2>/dev/null | tr -d '\r')
  echo "$client_out" | sed 's/^/    /'
  # The sample's own Windows client, which prints what run-sample prints.
  local own
  own=$(timeout 60 wine "$(windows_out "$samples/$sample/client")/$sample-client.exe" 2>/dev/null | tr -d '\r')
  echo "$own" | sed 's/^/    | /'
  check "$(echo "$own" | tail -1 | grep -qx PASS && echo 0 || echo 1)" "samples/$sample/client reports PASS"
  local summary
  summary=$(echo "$client_out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
  local c_passed c_failed
  c_passed=$(echo "$summary" | awk '{print $1}')
  c_failed=$(echo "$summary" | awk '{print $3}')
  passed=$((passed + ${c_passed:-0}))
  failed=$((failed + ${c_failed:-1}))
  timeout 60 wine sc stop "$service" >/dev/null 2>&1
  sleep 1
  timeout 60 wine sc delete "$service" >/dev/null 2>&1
  local trace
  trace=$(grep -a "\\[$tag\\]" "$log" | sed -e 's/.*: \[/[/' -e 's/\r//')
  echo "    --- driver trace ---"
  echo "$trace" | sed 's/^/    /'
  for line in "DriverEntry -- loading" "IRP_MJ_CREATE" "IRP_MJ_CLOSE" "DriverUnload -- cleaning up"; do
    check "$(echo "$trace" | grep -qF "[$tag] $line" && echo 0 || echo 1)" "$sample trace shows: $line"
  done
}

run_sample wdfsafe_echo echo.sys echo echo
trace=$(grep -a "\\[echo\\]" "$log")
check "$(echo "$trace" | grep -qF "echoing value 0xDEADBEEF" && echo 0 || echo 1)" "echo trace shows the IOCTL dispatch"
check "$(echo "$trace" | grep -qF "IRP_MJ_WRITE -- stored 11 bytes" && echo 0 || echo 1)" "echo trace shows the write dispatch"
run_sample wdfsafe_null null_device.sys null-device null-device
check "$(grep -aqF "[null-device] IRP_MJ_WRITE -- discarding 5 bytes" "$log" && echo 0 || echo 1)" "null-device trace shows the write dispatch"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
