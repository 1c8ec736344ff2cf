#!/bin/sh
# Installs, with apt-get, every Debian package brig needs to build and test
# that is not installed yet. Quick when all are present: it asks dpkg first.
set -eu

PACKAGES="
gcc make clang clang-format libclang-rt-14-dev pkg-config git
libgrpc-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
libseccomp-dev libcap-ng-dev libmnl-dev libbpf-dev
libcurl4-openssl-dev libssl-dev libjansson-dev
libarchive-dev zlib1g-dev libisal-dev libzstd-dev liburing-dev
libcmocka-dev libmicrohttpd-dev
python3 python3-pytest python3-grpcio python3-protobuf
passwd util-linux procps iproute2
runc docker-registry busybox-static containernetworking-plugins
umoci skopeo containerd apache2-utils python3-cryptography zstd
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "deps: all build and test packages are installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'sudo make deps' (or 'sudo make check') to install them" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
