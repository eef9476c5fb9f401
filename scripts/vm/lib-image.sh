# shellcheck shell=bash
# Guest image building for wormhole-vms.  Sourced, not run.
#
# Layout under $WH_VM_DIR (default: <repo>/build-vm):
#   kernel-<ver>/vmlinuz, modules/          Debian cloud kernel, extracted
#   rootfs-<key>/                           debootstrap root (ocl-icd, POCL)
#   rootfs-<key>.ext4                       the same as an ext4 disk image
#   initrd-<key>.cpio.gz                    busybox init + virtio modules +
#                                           the Wormhole payload
# Every <key> is a hash of what went in, so a rerun with the same inputs
# reuses the cached artefact and a changed input builds a new one.

WH_SUITE=${WH_SUITE:-bookworm}
WH_MIRROR=${WH_MIRROR:-http://deb.debian.org/debian}
WH_KERNEL_PKG=${WH_KERNEL_PKG:-linux-image-cloud-amd64}
# Packages the guest root needs: the ICD loader, POCL (the server VM's
# accelerator when no real one is passed through), hwloc for placement.
WH_ROOT_PKGS=${WH_ROOT_PKGS:-ocl-icd-libopencl1,pocl-opencl-icd,libhwloc15,clinfo}
# Modules the initramfs loads to reach the root disk (cloud kernel: =m).
WH_INITRD_MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk"

log() { printf '[wormhole-vms] %s\n' "$*" >&2; }
die() { printf '[wormhole-vms] error: %s\n' "$*" >&2; exit 1; }

hash_str() { printf '%s' "$1" | sha256sum | cut -c1-12; }

# Hash of a directory tree: paths, modes and contents.
hash_tree() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z |
		while IFS= read -r -d '' f; do
			if [ -f "$f" ] && [ ! -L "$f" ]; then
				printf '%s %s ' "$f" "$(stat -c %a "$f")"
				sha256sum <"$f" | cut -d' ' -f1
			elif [ -L "$f" ]; then
				printf '%s -> %s\n' "$f" "$(readlink "$f")"
			else
				printf '%s/\n' "$f"
			fi
		done) | sha256sum | cut -c1-12
}

need_tools() {
	local missing=() t
	for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
	[ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (run tests/vm/run-vm-test.sh --deps or apt-get install qemu-system-x86 debootstrap busybox-static cpio e2fsprogs)"
}

# Resolve the kernel package to a concrete version and extract it.
# Prints the kernel directory.
build_kernel() {
	local dep ver dir tmp
	dep=$(apt-cache depends "$WH_KERNEL_PKG" 2>/dev/null |
		awk '/Depends: linux-image-/ {print $2; exit}')
	[ -n "$dep" ] || dep=$WH_KERNEL_PKG
	ver=${dep#linux-image-}
	dir=$WH_VM_DIR/kernel-$ver
	if [ ! -f "$dir/vmlinuz" ]; then
		log "fetching kernel $dep"
		tmp=$(mktemp -d "$WH_VM_DIR/.kernel.XXXXXX")
		(cd "$tmp" && apt-get download -q "$dep" >/dev/null 2>&1) ||
			die "apt-get download $dep failed"
		dpkg-deb -x "$tmp"/*.deb "$tmp/x"
		mkdir -p "$tmp/out/modules"
		cp "$tmp/x/boot/vmlinuz-$ver" "$tmp/out/vmlinuz"
		cp "$tmp/x/boot/config-$ver" "$tmp/out/config"
		cp -a "$tmp/x/lib/modules/$ver" "$tmp/out/modules/"
		rm -rf "$dir"
		mv "$tmp/out" "$dir"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$dir"
}

# debootstrap root + ext4 image.  Prints the image path.
build_rootfs() {
	local key dir img tmp
	key=$(hash_str "v1|$WH_SUITE|$WH_MIRROR|$WH_ROOT_PKGS")
	dir=$WH_VM_DIR/rootfs-$key
	img=$WH_VM_DIR/rootfs-$key.ext4
	if [ ! -f "$dir/.complete" ]; then
		log "debootstrap $WH_SUITE (+$WH_ROOT_PKGS) into $dir (several minutes)"
		rm -rf "$dir" "$img"
		tmp=$dir.tmp
		rm -rf "$tmp"
		timeout 1800 debootstrap --variant=minbase --include="$WH_ROOT_PKGS" \
			"$WH_SUITE" "$tmp" "$WH_MIRROR" >"$WH_VM_DIR/debootstrap-$key.log" 2>&1 ||
			die "debootstrap failed: see $WH_VM_DIR/debootstrap-$key.log"
		# Trim what a diskless test guest never uses.
		rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/usr/share/doc \
			"$tmp"/usr/share/man "$tmp"/usr/share/locale
		mkdir -p "$tmp/opt/wormhole"
		echo wormhole-vm >"$tmp/etc/hostname"
		mv "$tmp" "$dir"
		touch "$dir/.complete"
	fi
	if [ ! -f "$img" ]; then
		local mb
		mb=$(du -sm "$dir" | cut -f1)
		mb=$((mb + mb / 4 + 256))
		log "making $img (${mb} MiB ext4)"
		rm -f "$img.tmp"
		truncate -s "${mb}M" "$img.tmp"
		mkfs.ext4 -q -F -L whroot -d "$dir" "$img.tmp" ||
			die "mkfs.ext4 -d failed"
		mv "$img.tmp" "$img"
	fi
	printf '%s\n' "$img"
}

# initramfs: busybox, the virtio modules, /init, and the payload directory
# (copied to /opt/wormhole in the guest).  Prints the initrd path.
build_initrd() {
	local kdir=$1 payload=$2 ver key out tmp m f
	ver=$(basename "$(ls -d "$kdir"/modules/*/ | head -1)")
	local bb
	bb=$(command -v busybox) || die "busybox-static not installed"
	file -L "$bb" 2>/dev/null | grep -q 'statically linked' ||
		die "$bb is not static: apt-get install busybox-static"
	key=$(hash_str "v1|$ver|$(sha256sum "$bb" "$WH_VM_LIB_DIR/guest-init" | cut -c1-64)|$(hash_tree "$payload")")
	out=$WH_VM_DIR/initrd-$key.cpio.gz
	if [ ! -f "$out" ]; then
		log "building initramfs $out"
		tmp=$(mktemp -d "$WH_VM_DIR/.initrd.XXXXXX")
		mkdir -p "$tmp"/{bin,sbin,dev,proc,sys,mnt/root,lib/modules,opt}
		cp "$bb" "$tmp/bin/busybox"
		for f in sh mount umount mkdir cat echo sleep switch_root insmod \
			modprobe ls cp poweroff reboot sync dmesg grep chroot mknod \
			tee hexdump dd; do
			ln -sf busybox "$tmp/bin/$f"
		done
		for m in $WH_INITRD_MODS; do
			f=$(find "$kdir/modules/$ver" -name "$m.ko*" | head -1)
			[ -n "$f" ] || { log "module $m not found (built in?)"; continue; }
			cp "$f" "$tmp/lib/modules/"
		done
		cp "$WH_VM_LIB_DIR/guest-init" "$tmp/init"
		chmod 755 "$tmp/init"
		cp -a "$payload" "$tmp/opt/wormhole"
		(cd "$tmp" && find . -print0 | LC_ALL=C sort -z |
			cpio --null -o -H newc --quiet | gzip -1) >"$out.tmp"
		mv "$out.tmp" "$out"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$out"
}
