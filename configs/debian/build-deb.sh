#!/bin/sh
# build-deb.sh BINARY VERSION OUTDIR: the seosgw Debian package from a
# staged tree with dpkg-deb (no packaging tool beyond dpkg). `make deb`
# runs it on the static, version-stamped binary of `make build`.
set -eu
bin=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
configs=$(dirname "$here")
repo=$(dirname "$configs")

# Debian versions start with a digit and keep "-" for the package revision:
# v1.2.0 -> 1.2.0; 1.2.0-3-gabc-dirty -> 1.2.0+3.gabc.dirty; abc123 -> 0.0~git.abc123.
v=${version#v}
case $v in
[0-9]*) ;;
*) v="0.0~git.$v" ;;
esac
debversion=$(printf '%s' "$v" | sed 's/-/+/; s/-/./g')

goarch=${GOARCH:-$(go env GOARCH)}
case $goarch in
386) arch=i386 ;;
arm) arch=armhf ;;
ppc64le) arch=ppc64el ;;
*) arch=$goarch ;;
esac

stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$bin" "$stage/usr/bin/seosgw"
install -D -m 0644 "$configs/seosgw.service" "$stage/usr/lib/systemd/system/seosgw.service"
install -D -m 0644 "$here/seosgw.sysusers" "$stage/usr/lib/sysusers.d/seosgw.conf"
install -D -m 0644 "$here/seosgw.tmpfiles" "$stage/usr/lib/tmpfiles.d/seosgw.conf"
doc="$stage/usr/share/doc/seosgw"
install -D -m 0644 "$configs/README.md" "$doc/README.md"
for f in seosgw.example.yaml conformance.example.yaml legacy-mapping.example.yaml acceptance.maritime.example.yaml prometheus-alerts.yaml grafana-dashboard.json; do
	install -m 0644 "$configs/$f" "$doc/$f"
done
for f in console-overview.png console-outbox-item.png; do
	install -D -m 0644 "$configs/screenshots/$f" "$doc/screenshots/$f"
done
install -m 0644 "$repo/gateway/ais/openapi.yaml" "$doc/ais-openapi.yaml"
install -m 0644 "$repo/gateway/spool/README.md" "$doc/spool.md"

install -d -m 0755 "$stage/DEBIAN"
for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$stage/DEBIAN/$s"
done
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$debversion/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$here/control.in" >"$stage/DEBIAN/control"

mkdir -p "$out"
deb="$out/seosgw_${debversion}_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
