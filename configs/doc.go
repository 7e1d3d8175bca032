// Package configs holds seosgw's deployment files: the operations guide
// (README.md), the example configuration, the systemd unit, the Debian
// packaging (debian/), the Prometheus alert rules with their promtool tests,
// and the Grafana dashboard. Its Go code only tests them.
package configs
