#!/usr/bin/env bash
# tests/vm/run.sh — runs lbd's VM tests on Debian's own kernel under qemu
# (TCG: the host's /dev/kvm is a PVM hypervisor that Debian's kernel does
# not boot on). `make vm-test` runs it; as root or not, no network needed
# beyond apt's first download of the kernel package.
#
# Steps, each cached under tests/vm/cache (gitignored):
#   1. apt-get download the linux-image-* package that linux-image-amd64
#      depends on; dpkg-deb -x it; depmod it; extract vmlinux from vmlinuz.
#   2. CGO_ENABLED=0 go test -c every package listed in tests/vm/packages.
#   3. An uncompressed initramfs (tests/vm/out): busybox-static, the modules
#      of tests/vm/modules with their dependencies, the test binaries, /init.
#   4. qemu -M pc -cpu qemu64 -m 512 -nic none -no-reboot -nographic; /init
#      loads the modules, runs every test binary with LBD_VM=1 and prints
#      markers on the serial console; this script parses them.
# Exit 0 only when every test binary passed and the guest finished.
#
# Environment:
#   LBD_VM_TIMEOUT  seconds for the whole guest run (default 600)
#   LBD_VM_BOOT     pvh (vmlinux, default, faster) or bzimage (vmlinuz)
#   LBD_VM_MEM      guest memory in MiB (default 512)
#   LBD_VM_KERNEL_DEB  a linux-image .deb to use instead of apt's
#   LBD_VM_RUN      -test.run pattern added for every package (optional)
#   LBD_TEST_STRICT passed into the guest unchanged
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=$here/cache
out=$here/out
timeout_s=${LBD_VM_TIMEOUT:-600}
boot=${LBD_VM_BOOT:-pvh}
mem=${LBD_VM_MEM:-512}
export PATH=/usr/local/go/bin:/usr/sbin:/sbin:$PATH

log() { printf 'vm: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

for c in qemu-system-x86_64 dpkg-deb depmod cpio xz go; do
	command -v "$c" >/dev/null || die "needs $c (make deps installs it)"
done
busybox=/bin/busybox
[ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 ||
	die "needs a static $busybox (apt-get install busybox-static)"

t_start=$(now)
mkdir -p "$cache" "$out"

# --- 1. kernel -------------------------------------------------------------
kernel_deb() {
	if [ -n "${LBD_VM_KERNEL_DEB:-}" ]; then
		echo "$LBD_VM_KERNEL_DEB"
		return
	fi
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		log "apt knows no linux-image-amd64 yet: apt-get update"
		apt-get update -qq >&2
		pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	[ -n "$pkg" ] || die "cannot resolve linux-image-amd64's kernel package"
	local ver deb
	ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
	deb=$cache/${pkg}_${ver//:/%3a}_amd64.deb
	if [ ! -s "$deb" ]; then
		log "downloading $pkg $ver"
		(cd "$cache" && apt-get download "$pkg=$ver" >&2 2>/dev/null) || die "apt-get download $pkg=$ver failed"
	fi
	[ -s "$deb" ] || die "$deb missing after download"
	echo "$deb"
}

# extract_vmlinux IN OUT: the uncompressed ELF kernel inside a bzImage,
# found by trying each compressed stream's magic (extract-vmlinux's method).
extract_vmlinux() {
	local in=$1 outf=$2 magic tool off
	for pair in 'xz:\xfd\x37\x7a\x58\x5a\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08' 'lzma:\x5d\x00\x00\x00'; do
		tool=${pair%%:*}
		magic=${pair#*:}
		command -v "$tool" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "$magic" "$in" | cut -d: -f1); do
			tail -c +$((off + 1)) "$in" | "$tool" -dc >"$outf" 2>/dev/null || true
			if [ "$(head -c 4 "$outf" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
				return 0
			fi
		done
	done
	rm -f "$outf"
	return 1
}

deb=$(kernel_deb)
kdir=$cache/$(basename "$deb" .deb)
if [ ! -e "$kdir/.ready" ]; then
	log "unpacking $(basename "$deb")"
	rm -rf "$kdir"
	mkdir -p "$kdir"
	dpkg-deb -x "$deb" "$kdir/root"
	kver=$(ls "$kdir/root/lib/modules")
	depmod -b "$kdir/root" "$kver"
	extract_vmlinux "$kdir/root/boot/vmlinuz-$kver" "$kdir/vmlinux" || die "no vmlinux found in vmlinuz-$kver"
	echo "$kver" >"$kdir/.ready"
fi
kver=$(cat "$kdir/.ready")
moddir=$kdir/root/lib/modules/$kver
case $boot in
pvh) kernel=$kdir/vmlinux ;;
bzimage) kernel=$kdir/root/boot/vmlinuz-$kver ;;
*) die "LBD_VM_BOOT=$boot: want pvh or bzimage" ;;
esac
log "kernel $kver ($boot)"

# --- 2. test binaries ------------------------------------------------------
rootfs=$out/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,proc,sys,dev,tmp,run,etc,tests,lib/modules/"$kver"}
runlist=$rootfs/tests/list
: >"$runlist"
t_build=$(now)
while read -r pkg flags; do
	case $pkg in '' | '#'*) continue ;; esac
	name=$(echo "${pkg#./}" | tr '/.' '__')
	log "building $pkg"
	(cd "$repo" && CGO_ENABLED=0 go test -c -trimpath -o "$rootfs/tests/$name.test" "$pkg") ||
		die "go test -c $pkg failed"
	[ -x "$rootfs/tests/$name.test" ] || die "$pkg has no test files"
	mkdir -p "$rootfs/tests/$name.dir"
	if [ -d "$repo/${pkg#./}/testdata" ]; then
		cp -a "$repo/${pkg#./}/testdata" "$rootfs/tests/$name.dir/"
	fi
	[ -n "${LBD_VM_RUN:-}" ] && flags="-test.run=$LBD_VM_RUN $flags"
	echo "$name $flags" >>"$runlist"
done <"$here/packages"
[ -s "$runlist" ] || die "no packages in $here/packages"
t_built=$(now)

# --- 3. initramfs ----------------------------------------------------------
cp "$busybox" "$rootfs/bin/busybox"
# Modules in load order: each one's dependencies (modules.dep lists them
# nearest first, so load them last to first), then itself.
declare -A loaded=()
order=()
add_module() {
	local rel=$1 deps i
	local -a arr
	[ -n "${loaded[$rel]:-}" ] && return
	deps=$(awk -v m="$rel:" '$1 == m { $1 = ""; print; exit }' "$moddir/modules.dep")
	read -r -a arr <<<"$deps"
	for ((i = ${#arr[@]} - 1; i >= 0; i--)); do
		add_module "${arr[i]}"
	done
	loaded[$rel]=1
	order+=("$rel")
}
while read -r m; do
	case $m in '' | '#'*) continue ;; esac
	rel=$(awk -v m="$m" '{ k = $1; sub(":$", "", k); n = k; sub(".*/", "", n); sub("\\.ko(\\..*)?$", "", n); gsub("-", "_", n); if (n == m) { print k; exit } }' "$moddir/modules.dep")
	if [ -z "$rel" ]; then
		if grep -q "/$m.ko" "$moddir/modules.builtin" 2>/dev/null; then
			continue # built in
		fi
		log "module $m: not in kernel $kver, skipped"
		continue
	fi
	add_module "$rel"
done <"$here/modules"
: >"$rootfs/modules.order"
for rel in "${order[@]}"; do
	mkdir -p "$rootfs/lib/modules/$kver/$(dirname "$rel")"
	case $rel in
	*.ko) cp "$moddir/$rel" "$rootfs/lib/modules/$kver/$rel" ;;
	*.ko.xz) xz -dc "$moddir/$rel" >"$rootfs/lib/modules/$kver/${rel%.xz}"; rel=${rel%.xz} ;;
	*.ko.zst) zstd -qdc "$moddir/$rel" >"$rootfs/lib/modules/$kver/${rel%.zst}"; rel=${rel%.zst} ;;
	*) die "module $rel: unknown compression" ;;
	esac
	echo "/lib/modules/$kver/$rel" >>"$rootfs/modules.order"
done
cat >"$rootfs/env" <<EOF
export LBD_VM=1
export LBD_TEST_STRICT=${LBD_TEST_STRICT:-}
export PATH=/bin:/sbin
export HOME=/tmp TMPDIR=/tmp GOTRACEBACK=all
EOF
cat >"$rootfs/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
. /env
ip link set lo up
echo "VMTEST KERNEL $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)"
for m in $(cat /modules.order); do
	insmod "$m" || echo "VMTEST MODULE-FAILED $m"
done
echo "VMTEST MODULES uptime $(cut -d' ' -f1 /proc/uptime)"
while read -r name flags; do
	echo "VMTEST BEGIN $name uptime $(cut -d' ' -f1 /proc/uptime)"
	cd "/tests/$name.dir"
	# shellcheck disable=SC2086
	"/tests/$name.test" -test.v -test.count=1 -test.timeout=10m $flags
	echo "VMTEST END $name rc=$? uptime $(cut -d' ' -f1 /proc/uptime)"
done </tests/list
echo "VMTEST DONE uptime $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
EOF
chmod +x "$rootfs/init"
(cd "$rootfs" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >"$out/initramfs.cpio"
log "initramfs $(du -h "$out/initramfs.cpio" | cut -f1), ${#order[@]} modules; tests built in $(secs "$t_build" "$t_built")s"

# --- 4. boot ---------------------------------------------------------------
console=$out/console.log
t_boot=$(now)
t_first=
set +e
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 \
	-M pc -cpu qemu64 -m "$mem" -smp 1 -nic none -no-reboot -nographic \
	-kernel "$kernel" -initrd "$out/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 oops=panic quiet loglevel=4 rdinit=/init" \
	</dev/null 2>&1 | tr -d '\r' | while IFS= read -r line; do
	printf '%s\n' "$line"
	case $line in
	"VMTEST BEGIN "*) [ -e "$out/.first" ] || now >"$out/.first" ;;
	esac
done | tee "$console"
qemu_rc=${PIPESTATUS[0]}
set -e
t_end=$(now)
t_first=$(cat "$out/.first" 2>/dev/null || true)
rm -f "$out/.first"

# --- 5. verdict -------------------------------------------------------------
# Counted per top-level Go test; a test binary that failed without a
# "--- FAIL" line (panic, timeout, crash) or never ran counts as one more.
pass=$(grep -c '^--- PASS: ' "$console" || true)
fail=$(grep -c '^--- FAIL: ' "$console" || true)
skip=$(grep -c '^--- SKIP: ' "$console" || true)
failed=()
while read -r _ _ name rc _; do
	[ "$rc" = rc=0 ] && continue
	failed+=("$name")
	[ "$fail" -gt 0 ] || fail=1
done < <(grep '^VMTEST END ' "$console")
ran=$(grep -c '^VMTEST END ' "$console" || true)
expected=$(wc -l <"$runlist")
finished=$(grep -c '^VMTEST DONE' "$console" || true)
if [ "$finished" -eq 0 ]; then
	if [ "$qemu_rc" -eq 124 ]; then
		log "guest did not finish within ${timeout_s}s (LBD_VM_TIMEOUT)"
	else
		log "guest stopped before finishing (qemu exit $qemu_rc)"
	fi
	fail=$((fail + expected - ran))
	[ "$fail" -gt 0 ] || fail=1
fi
if grep -q '^VMTEST MODULE-FAILED' "$console"; then
	log "modules that failed to load: $(grep '^VMTEST MODULE-FAILED' "$console" | cut -d' ' -f3 | tr '\n' ' ')"
fi
boot_to_first=n/a
[ -n "$t_first" ] && boot_to_first=$(secs "$t_boot" "$t_first")s
log "timing: boot to first test $boot_to_first, guest run $(secs "$t_boot" "$t_end")s, total $(secs "$t_start" "$t_end")s"
[ ${#failed[@]} -eq 0 ] || log "failed test binaries: ${failed[*]}"
echo "vm: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$finished" -gt 0 ]
