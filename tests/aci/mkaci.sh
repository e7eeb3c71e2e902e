#!/bin/bash
# mkaci.sh OUT: builds the example ACI image (tests/aci/example.aci in the build dir)
# from Debian's static busybox. An ACI is a tar holding `manifest` (the image
# manifest, JSON) and `rootfs/`; this one is deterministic (sorted, root-owned,
# mtime 0), so the same busybox always gives the same image ID.
set -euo pipefail

out=${1:?usage: mkaci.sh OUT}
busybox=${BUSYBOX:-/bin/busybox}

if [[ ! -x $busybox ]]; then
	echo "mkaci.sh: $busybox not found: install Debian's busybox-static package (apt-get install busybox-static)" >&2
	exit 1
fi
# The app runs chrooted into rootfs/: busybox must not need a dynamic loader.
if command -v readelf >/dev/null && readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
	echo "mkaci.sh: $busybox is dynamically linked: install Debian's busybox-static package" >&2
	exit 1
fi

umask 022
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

mkdir -p "$root"/{bin,etc,root,home/user,tmp,dev,proc,sys}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in sh ash echo cat ls id sleep env true false kill wc head tail tr mkdir rmdir \
	touch dd grep printf test [ pwd rm cp mv ln chmod chown stat readlink basename \
	dirname find xargs sed awk sort uniq cut seq date hostname whoami uname ps mount \
	df du yes nc wget vi; do
	ln -s busybox "$root/bin/$applet"
done

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:100:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
users:x:100:user
nobody:x:65534:
nogroup:x:65534:
GROUP

cat >"$work/manifest" <<'MANIFEST'
{
	"acKind": "ImageManifest",
	"acVersion": "0.8.11",
	"name": "example.com/busybox",
	"labels": [
		{"name": "version", "value": "0.0.1"},
		{"name": "os", "value": "linux"},
		{"name": "arch", "value": "amd64"}
	],
	"app": {
		"exec": ["/bin/sh", "-c", "echo hello from rkt-driver"],
		"user": "0",
		"group": "0",
		"environment": [{"name": "PATH", "value": "/bin"}],
		"ports": [
			{"name": "http", "protocol": "tcp", "port": 8080},
			{"name": "dns", "protocol": "udp", "port": 53}
		]
	}
}
MANIFEST

tar --create --file "$out.tmp" --directory "$work" --format=gnu --sort=name \
	--owner=0 --group=0 --numeric-owner --mtime=@0 manifest rootfs
mv -f "$out.tmp" "$out"
