# shellcheck shell=bash
# tools/packages.sh - the Debian packages ./dev needs, installed when missing
# (as root, on Debian 12): what the stack, the build and the tests need
# (install_packages, before every up, test and fuzz), and what only the
# benchmarks need (bench_packages), kept apart so that ./dev up and ./dev
# test install none of the benchmarks' baseline.

PACKAGES=(build-essential autoconf automake libtool pkg-config libfcgi-dev
	libcurl4-openssl-dev libmariadb-dev libmariadb-dev-compat libmemcached-dev
	libjson-c-dev libinih-dev libssl-dev mariadb-server mariadb-client mariadb-backup memcached
	lighttpd apache2 curl jq procps iproute2 bc clang-14 libclang-rt-14-dev clang-format-14
	php-fpm php-cli
	systemd man-db) # systemd-analyze and man -l check the installed units and pages
# Building and checking the Debian packages (tests/integration/98_debian.sh):
# installed without their recommends, which are a packager's whole desk
# (debian-keyring alone is tens of MiB) and nothing the test uses.
PACKAGES_BARE=(debhelper lintian devscripts)

install_packages() {
	local missing=() bare=() p
	for p in "${PACKAGES[@]}"; do
		if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
			missing+=("$p")
		fi
	done
	for p in "${PACKAGES_BARE[@]}"; do
		if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
			bare+=("$p")
		fi
	done
	# Node.js and npm (the tus-js-client test) may come from elsewhere than
	# Debian's packages; only when the commands are missing are they installed.
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		missing+=(nodejs npm)
	fi
	if ((${#missing[@]} + ${#bare[@]} == 0)); then
		return 0
	fi
	[[ $(id -u) == 0 ]] || die "missing Debian packages: ${missing[*]} ${bare[*]} (run ./dev up as root, or install them)"
	say "installing Debian packages: ${missing[*]} ${bare[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || die "apt-get update failed"
	if ((${#missing[@]})); then
		apt-get install -y -q "${missing[@]}" || die "apt-get install failed for: ${missing[*]}"
	fi
	if ((${#bare[@]})); then
		apt-get install -y -q --no-install-recommends "${bare[@]}" ||
			die "apt-get install failed for: ${bare[*]}"
	fi
}

BENCH_PACKAGES=(php-fpm php-mysql)

# The bench's own Debian packages (the LAMP baseline), installed here only so
# that ./dev up and ./dev test need none of them.
bench_packages() {
	local missing=() p
	for p in "${BENCH_PACKAGES[@]}"; do
		if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
			missing+=("$p")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || die "missing Debian packages for the bench: ${missing[*]} (run as root, or install them)"
	say "bench: installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || die "apt-get update failed"
	apt-get install -y -q "${missing[@]}" || die "apt-get install failed for: ${missing[*]}"
}
