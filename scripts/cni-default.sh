#!/bin/sh
# Installs brig's default CNI network (contrib/cni/10-brig.conflist: bridge
# brig0, 10.88.0.0/16 from host-local, masquerade, portmap, loopback) into
# the configuration directory given, unless that directory already holds a
# network (*.conflist, *.conf or *.json), so a fresh node runs pods at once
# and a configured one is left as it is.
set -eu

dir=${1:-/etc/cni/net.d}
src=$(dirname "$0")/../contrib/cni/10-brig.conflist

for f in "$dir"/*.conflist "$dir"/*.conf "$dir"/*.json; do
	if [ -e "$f" ]; then
		echo "cni: $dir has a network already ($f); nothing installed"
		exit 0
	fi
done
install -d -m 0755 "$dir"
install -m 0644 "$src" "$dir/10-brig.conflist"
echo "cni: installed the default network (bridge brig0, 10.88.0.0/16) as $dir/10-brig.conflist"
