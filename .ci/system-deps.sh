#!/usr/bin/env bash
# Debian packages the tests use (real servers and the browser). Installs only what is
# missing, and only as root; otherwise it says what is missing and the tests that need it skip.
set -euo pipefail
need=()
command -v slapd >/dev/null || [ -x /usr/sbin/slapd ] || need+=(slapd ldap-utils)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/sbin/freeradius ] || need+=(freeradius)
command -v radclient >/dev/null || need+=(freeradius-utils)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v redis-server >/dev/null || need+=(redis-server)
[ -d /usr/lib/postgresql ] || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "missing Debian packages (run as root to install): ${need[*]}" >&2
  exit 0
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${need[@]}"
