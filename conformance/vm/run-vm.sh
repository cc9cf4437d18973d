#!/usr/bin/env bash
# Checks the emulator's "6.1" kernel profile against a real Linux 6.1 kernel:
# boots Debian's 6.1 cloud kernel under qemu (TCG) with an initramfs holding a
# static /init and a static bpfemu-conformance, runs
#   bpfemu-conformance --backend both --profile 6.1 --format json
# inside the VM, pulls the JSON off the serial console and prints the usual
# table. Exit status: that of bpfemu-conformance (0 = no differences,
# 1 = differences), 2 on usage errors, 3 when the VM run failed, 77 when the VM
# cannot be set up here (not root and packages missing).
#
# usage: conformance/vm/run-vm.sh [options] [-- extra bpfemu-conformance args]
#   --kernel PATH     kernel image to boot (default: newest /boot/vmlinuz-6.1.*,
#                     installing the newest linux-image-6.1.0-N-cloud-amd64-unsigned
#                     when there is none)
#   --profile NAME    emulator profile to check (default 6.1)
#   --json-out FILE   also keep the VM's JSON here
#   --format table|json  output (default table)
#   --verbose         pass --verbose (both recordings of differing scenarios,
#                     printed from the VM's stderr)
#   --no-install      do not apt-get anything
#   --raw             print what bpfemu-conformance printed in the VM, as is
#                     (for modes without a table, e.g. -- --probe-helpers)
# Environment: BPFEMU_VM_TIMEOUT (seconds, default 600), BPFEMU_VM_BUILD
# (build directory, default build-vm-static), BPFEMU_VM_MEM (default 512),
# BPFEMU_VM_SMP (default: the host's possible CPU count, normally 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

kernel="" profile="6.1" json_out="" format="table" verbose=0 install=1 raw=0
extra=()
while (($#)); do
  case "$1" in
    --kernel) kernel=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --json-out) json_out=$2; shift 2 ;;
    --format) format=$2; shift 2 ;;
    --verbose) verbose=1; shift ;;
    --no-install) install=0; shift ;;
    --raw) raw=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run-vm.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
build=${BPFEMU_VM_BUILD:-$root/build-vm-static}
timeout_s=${BPFEMU_VM_TIMEOUT:-600}
mem=${BPFEMU_VM_MEM:-512}
if [[ -z ${BPFEMU_VM_SMP:-} ]]; then
  # Possible CPUs in the VM must match the host's (libbpf and the emulator size
  # per-CPU values by them); "0-1" -> 2.
  possible=$(cat /sys/devices/system/cpu/possible 2>/dev/null || echo 0)
  BPFEMU_VM_SMP=$(( ${possible##*-} + 1 ))
fi
log() { echo "run-vm: $*" >&2; }
t_start=$(date +%s.%N)

# --- 1. packages (idempotent) ---
need=()
while read -r p; do
  [[ -z $p || $p == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done < scripts/vm-deps.txt
if [[ -z $kernel ]]; then
  kernel=$(ls -1 /boot/vmlinuz-6.1.* 2>/dev/null | sort -V | tail -1 || true)
  if [[ -z $kernel && $install == 1 ]]; then
    [[ $(id -u) == 0 ]] && DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
    kpkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' 2>/dev/null |
           awk '{print $1}' | sort -V | tail -1)
    [[ -n $kpkg ]] && need+=("$kpkg")
  fi
fi
if ((${#need[@]})); then
  if [[ $install == 0 || $(id -u) != 0 ]]; then
    log "SKIPPED: missing packages: ${need[*]} (run as root without --no-install to install them)"
    exit 77
  fi
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[[ -z $kernel ]] && kernel=$(ls -1 /boot/vmlinuz-6.1.* 2>/dev/null | sort -V | tail -1 || true)
if [[ -z $kernel || ! -r $kernel ]]; then
  log "SKIPPED: no readable 6.1 kernel image (looked for /boot/vmlinuz-6.1.*)"
  exit 77
fi

# --- 2. static binaries ---
log "building static bpfemu-conformance in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFEMU_STATIC_CONFORMANCE=ON \
  -DBPFEMU_BENCH=OFF -DBPFEMU_KERNEL_TESTS=OFF -DBPFEMU_VM_TESTS=OFF >/dev/null
if ! cmake --build "$build" -j"$(nproc)" --target bpfemu-conformance-static bpfemu-vm-init >"$build/vm-build.log" 2>&1; then
  tail -40 "$build/vm-build.log" >&2
  log "FAILED: build (log: $build/vm-build.log)"
  exit 3
fi
conf="$build/conformance/bpfemu-conformance-static"
init_bin="$build/conformance/bpfemu-vm-init"

# --- 3. initramfs ---
work="$build/vm"
rm -rf "$work/root"
mkdir -p "$work/root"/{dev,proc,sys,tmp}
strip -o "$work/root/init" "$init_bin"
strip -o "$work/root/bpfemu-conformance" "$conf"
args=(--backend both --profile "$profile" --format json)
((verbose)) && args+=(--verbose)
args+=("${extra[@]}")
printf '%s\n' "${args[@]}" > "$work/root/conformance.args"
# The kernel opens /dev/console for PID 1 before /init mounts devtmpfs.
[[ $(id -u) == 0 ]] && mknod -m 600 "$work/root/dev/console" c 5 1
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.cpio.gz"

# --- 4. boot ---
console="$work/console.log"
log "booting $kernel (TCG, -m $mem, -smp $BPFEMU_VM_SMP, timeout ${timeout_s}s)"
t_boot=$(date +%s.%N)
set +e
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -m "$mem" -smp "$BPFEMU_VM_SMP" -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet" </dev/null >"$console" 2>&1
qrc=$?
set -e
t_end=$(date +%s.%N)
tr -d '\r' < "$console" > "$console.tmp" && mv "$console.tmp" "$console"
grep -oE 'BPFEMU-VM(:|-EXIT:) .*' "$console" | sed 's/^/  vm: /' >&2 || true
if ((qrc == 124)); then
  log "FAILED: the VM did not power off within ${timeout_s}s (console: $console)"
  exit 3
fi

# --- 5. results ---
json="$work/result.json"
awk '/^==== BPFEMU-VM-OUTPUT-END ====$/ {on=0} on {print} /^==== BPFEMU-VM-OUTPUT-BEGIN ====$/ {on=1}' \
  "$console" > "$json"
vm_exit=$(sed -n 's/^BPFEMU-VM-EXIT: //p' "$console" | tail -1)
if ((raw)); then
  cat "$json"
  [[ $vm_exit == 0 ]] && exit 0
  exit 3
fi
if [[ ! -s $json ]] || ! grep -q '"rows"' "$json"; then
  log "FAILED: no conformance output on the console (qemu exit $qrc, vm exit '${vm_exit}'); console: $console"
  tail -30 "$console" >&2
  exit 3
fi
# The conformance binary's stderr (e.g. --verbose recordings) came before the output.
if ((verbose)); then
  awk '/^BPFEMU-VM: stderr follows$/ {on=1; next} /^==== BPFEMU-VM-OUTPUT-BEGIN ====$/ {on=0} on {print}' \
    "$console" >&2
fi
[[ -n $json_out ]] && cp "$json" "$json_out"
boot_s=$(sed -n 's/^.*BPFEMU-VM: kernel .*, up \([0-9.]*\) s$/\1/p' "$console" | head -1)
run_s=$(sed -n 's/^BPFEMU-VM: bpfemu-conformance finished in \([0-9.]*\) s$/\1/p' "$console" | head -1)
set +e
"$conf" --from-json "$json" --format "$format"
rc=$?
set -e
printf 'run-vm: kernel %s; guest boot to /init %ss, conformance %ss (guest clock); qemu wall %.1fs, total %.1fs\n' \
  "$(basename "$kernel")" "${boot_s:-?}" "${run_s:-?}" "$(awk "BEGIN{print $t_end - $t_boot}")" \
  "$(awk "BEGIN{print $t_end - $t_start}")" >&2
if [[ $vm_exit != 0 && $vm_exit != 1 ]]; then
  log "FAILED: bpfemu-conformance in the VM exited with '$vm_exit'"
  exit 3
fi
exit "$rc"
