#!/usr/bin/env bash
# Builds the two Debian base images deploy/Dockerfile starts from,
# `debian:bookworm` and `debian:bookworm-slim`, on this machine, for hosts that
# reach Debian's apt archive but no container registry. Images already present
# are left alone (idempotent); --force rebuilds both.
#
#   deploy/base-images.sh [--force]
#
# One `debootstrap --variant=minbase bookworm` tree serves both images (30-45 s
# here). They are made to look like the official images: deb822 sources for
# bookworm, bookworm-updates and bookworm-security, no /etc/apt/sources.list,
# empty apt caches and lists, apt/dpkg settings that keep image layers small,
# and for -slim no documentation, man pages or non-English locales, plus dpkg
# path-exclude rules so later installs stay small too.
#
# Environment:
#   DOCKER                       docker client (default: /usr/bin/docker if present, else docker)
#   PROXIMA_DEBIAN_MIRROR        mirror debootstrap downloads from and the images'
#                                sources list (default http://deb.debian.org/debian)
#   PROXIMA_DEBIAN_SECURITY_MIRROR  security archive in the images' sources list
#                                (default http://deb.debian.org/debian-security)
#   PROXIMA_BASE_IMAGE           name of the full image (default debian:bookworm)
#   PROXIMA_BASE_SLIM_IMAGE      name of the slim image (default debian:bookworm-slim)
#   TMPDIR                       where the scratch tree is made (needs ~500 MB, no noexec/nodev)
#
# Needs root (debootstrap creates device nodes and sets owners) and the
# debootstrap package.
set -euo pipefail

SUITE=bookworm
MIRROR="${PROXIMA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${PROXIMA_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
FULL_IMAGE="${PROXIMA_BASE_IMAGE:-debian:bookworm}"
SLIM_IMAGE="${PROXIMA_BASE_SLIM_IMAGE:-debian:bookworm-slim}"
if [[ -z "${DOCKER:-}" ]]; then
  if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi

log() { printf 'base-images: %s\n' "$*" >&2; }
die() { printf 'base-images: error: %s\n' "$*" >&2; exit 1; }

force=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (usage: $0 [--force])" ;;
esac

"$DOCKER" info >/dev/null 2>&1 || die "cannot talk to the Docker engine with '$DOCKER' (is dockerd running?)"

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
need_full=1 need_slim=1
if ((!force)); then
  have_image "$FULL_IMAGE" && need_full=0
  have_image "$SLIM_IMAGE" && need_slim=0
fi
if ((!need_full && !need_slim)); then
  log "$FULL_IMAGE and $SLIM_IMAGE present; nothing to do (--force rebuilds)"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "debootstrap needs root; run as root (or with sudo)"
command -v debootstrap >/dev/null || die "debootstrap not found; install it with: apt-get install debootstrap"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/proxima-base.XXXXXX")
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"

start=$SECONDS
log "debootstrap --variant=minbase $SUITE from $MIRROR (log: $work/debootstrap.out)"
if ! debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.out" 2>&1; then
  tail -n 30 "$work/debootstrap.out" >&2
  [[ -f "$rootfs/debootstrap/debootstrap.log" ]] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (mirror $MIRROR reachable? set PROXIMA_DEBIAN_MIRROR to use another)"
fi
log "debootstrap done in $((SECONDS - start)) s"

# --- what both images share -------------------------------------------------
rm -f "$rootfs/etc/apt/sources.list"
mkdir -p "$rootfs/etc/apt/sources.list.d"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# apt settings for image builds: no binary caches (every RUN is a fresh layer),
# no translations, compressed lists, and autoremove that really removes.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
// Image layers never reuse apt's binary caches; do not write them.
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-no-languages" <<'EOF'
// Translated package descriptions are not needed in images.
Acquire::Languages "none";
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes" <<'EOF'
// Keep downloaded package lists compressed on disk.
Acquire::GzipIndexes "true";
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'EOF'
// A package that is only suggested by another may be autoremoved.
Apt::AutoRemove::SuggestsImportant "false";
EOF
mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" <<'EOF'
# An image build that is interrupted is thrown away, so skip dpkg's fsyncs.
force-unsafe-io
EOF

# Empty caches, lists and logs; Docker provides hostname, hosts and resolv.conf.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
       "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/archives/partial/* \
       "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
       "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* \
       "$rootfs"/tmp/* "$rootfs"/var/tmp/* "$rootfs"/root/.cache
mkdir -p "$rootfs/var/lib/apt/lists/partial"
: >"$rootfs/etc/hostname"
: >"$rootfs/etc/resolv.conf"
rm -f "$rootfs/etc/machine-id"

import() {  # import ROOTFS IMAGE DESCRIPTION
  local tree=$1 image=$2 desc=$3
  tar --numeric-owner --xattrs -C "$tree" \
      --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./debootstrap' \
      -cf - . |
    "$DOCKER" import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL org.opencontainers.image.description=\"$desc\"" \
      - "$image" >/dev/null
  log "imported $image ($("$DOCKER" image inspect -f '{{.Size}}' "$image") bytes)"
}

if ((need_full)); then
  import "$rootfs" "$FULL_IMAGE" "Debian $SUITE minbase, built by proxima deploy/base-images.sh"
fi

if ((need_slim)); then
  slim="$work/slim"
  cp -a "$rootfs" "$slim"
  # The same paths official slim images drop, kept out of later installs too.
  cat >"$slim/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# Slim image: no documentation, manuals or translations. Copyright notices
# stay; so does the locale alias file.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$slim/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
  find "$slim/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$slim"/usr/share/man/* "$slim"/usr/share/groff/* "$slim"/usr/share/info/* \
         "$slim"/usr/share/lintian/* "$slim"/usr/share/linda/*
  find "$slim/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  import "$slim" "$SLIM_IMAGE" "Debian $SUITE minbase, slim, built by proxima deploy/base-images.sh"
fi

log "done in $((SECONDS - start)) s"
