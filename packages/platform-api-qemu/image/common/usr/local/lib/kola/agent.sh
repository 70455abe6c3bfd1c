# shellcheck shell=sh
# kola's first-boot provisioning, sourced by the pre-init of both image flavors (bash on `systemd`,
# busybox ash on `minimal`; both have `local`). Runs as root with /proc, /sys,
# /dev and /run mounted and stdout on the serial console. Spawn-light on purpose: under TCG every
# fork+exec costs tens of milliseconds, so the cloud-config is turned into shell calls by ONE jq run.
#
#   kola_run_ignition [EXTRA_PATH]   the real Ignition (Debian's 2.14 build): fetch-offline, then files;
#                                     with ignition.platform.id=P on the kernel command line (not qemu):
#                                     -platform P, online fetch from P's metadata service, then files
#   kola_agent                        cloud-config (JSON rendering) or a #! script from fw_cfg
#
# fw_cfg names (QEMU -fw_cfg name=…):
#   opt/com.coreos/config                 Ignition config (Ignition reads it itself, platform "qemu")
#   opt/org.mantle-ts/user-data           user-data as given (raw text): a #! script, or #cloud-config
#   opt/org.mantle-ts/cloud-config.json   kola's JSON rendering of a cloud-config (no YAML parser here)
#   opt/org.mantle-ts/private-network     "MAC ADDRESS/PREFIX" of the cluster NIC (kola_private_network)
#   opt/org.mantle-ts/user-network        "ADDRESS/PREFIX GATEWAY DNS" of the user-mode NIC (kola_user_network)

KOLA_FW=/sys/firmware/qemu_fw_cfg/by_name
KOLA_IGNITION=/usr/lib/dracut/modules.d/30ignition/ignition
KOLA_STATE=/var/lib/kola

kola_log() { echo "kola-agent: $*"; }
kola_note() { echo "kola-agent: $*"; }
kola_unknown_key() { echo "kola-agent: cloud-config key \"$1\" is not supported, ignored"; }

# ---------------------------------------------------------------------------------------------------
# Ignition

# The platform Ignition runs as: ignition.platform.id on the kernel command line, as Ignition's dracut
# hook reads it (the emulated clouds boot the image with aws, gce, …); qemu when it is absent.
kola_platform_id() {
  local _cmdline _arg
  KOLA_PLATFORM=qemu
  read -r _cmdline </proc/cmdline || true
  for _arg in $_cmdline; do
    case $_arg in ignition.platform.id=?*) KOLA_PLATFORM=${_arg#ignition.platform.id=} ;; esac
  done
}

# kola_ignition STAGE [EXTRA_PATH]: one Ignition stage, its log on stdout (the serial console) and in
# $KOLA_STATE/ignition.log (the systemd flavor puts that into the journal once journald runs: there is
# none yet when Ignition runs). Debian's build relabels for SELinux after writing files:
# /etc/selinux/config exists in the image and a no-op `setfiles` is first on PATH. Keys go straight to
# ~/.ssh/authorized_keys (sshd and dropbear both read it) instead of the authorized_keys.d/ignition
# fragment.
kola_ignition() {
  local _rc
  {
    PATH="/usr/local/lib/kola/bin${2:+:$2}:$PATH" IGNITION_WRITE_AUTHORIZED_KEYS_FRAGMENT=false \
      "$KOLA_IGNITION" -platform "$KOLA_PLATFORM" -root / -stage "$1" -log-to-stdout 2>&1
    echo $? >/run/kola-ignition-status
  } | tee -a "$KOLA_STATE/ignition.log"
  read -r _rc </run/kola-ignition-status || _rc=1
  return "$_rc"
}

kola_ignition_failed() {
  echo "kola-init: Ignition failed$1"
  : >"$KOLA_STATE/ignition-failed"
  return 1
}

kola_run_ignition() {
  kola_platform_id
  [ "$KOLA_PLATFORM" = qemu ] || {
    kola_run_ignition_online "$@"
    return
  }
  if [ ! -e "$KOLA_FW/opt/com.coreos/config/raw" ]; then
    echo "kola-init: no Ignition config (fw_cfg opt/com.coreos/config), skipping Ignition"
    return 0
  fi
  echo "kola-init: running Ignition (stages fetch-offline, files)"
  kola_ignition fetch-offline "$1" || kola_ignition_failed " (stage fetch-offline): the config was not applied" || return 1
  if [ -e /run/ignition/neednet ]; then
    kola_ignition_failed ": the config needs the network (remote resources), which this image does not support before boot" ||
      return 1
  fi
  kola_ignition files "$1" || kola_ignition_failed " (stage files): the config was only partly applied" || return 1
  echo "kola-init: Ignition finished"
  return 0
}

# A cloud platform: Ignition's provider fetches the config from the platform's metadata service
# (the user-mode NIC is up by then, and the emulator serves the metadata address on QEMU's user
# network). The online `fetch` stage replaces fetch-offline; no config at all is an empty one.
kola_run_ignition_online() {
  # the name GCE's own images resolve through /etc/hosts (there is no DNS for it behind user-mode NAT)
  [ "$KOLA_PLATFORM" != gcp ] || echo "169.254.169.254 metadata.google.internal metadata" >>/etc/hosts
  # a script or cloud-config (the emulator hands kola's agent a copy): not a config, as Flatcar's
  # Ignition ignores such user-data (Debian's build would fail on it)
  if [ -e "$KOLA_FW/opt/org.mantle-ts/user-data/raw" ]; then
    echo "kola-init: the user-data is a script or cloud-config, not an Ignition config: Ignition does not run"
    return 0
  fi
  echo "kola-init: running Ignition -platform $KOLA_PLATFORM (stages fetch, files): the config comes from the platform's metadata service"
  kola_ignition fetch "$1" || kola_ignition_failed " (stage fetch, platform $KOLA_PLATFORM): the config was not applied" || return 1
  kola_ignition files "$1" || kola_ignition_failed " (stage files): the config was only partly applied" || return 1
  echo "kola-init: Ignition finished"
  return 0
}

# ---------------------------------------------------------------------------------------------------
# the private (cluster) NIC: "MAC ADDRESS/PREFIX" -> KP_MAC KP_ADDR; false when there is no note

kola_private_network() {
  KP_MAC= KP_ADDR=
  [ -e "$KOLA_FW/opt/org.mantle-ts/private-network/raw" ] || return 1
  read -r KP_MAC KP_ADDR _ <"$KOLA_FW/opt/org.mantle-ts/private-network/raw" || true
  [ -n "$KP_MAC" ] && [ -n "$KP_ADDR" ]
}

# ---------------------------------------------------------------------------------------------------
# the user-mode NIC (QEMU's user network): "ADDRESS/PREFIX GATEWAY DNS" -> KN_ADDR KN_GW KN_DNS from
# fw_cfg opt/org.mantle-ts/user-network where the emulated clouds give one (their user network holds
# the metadata address 169.254.169.254), else QEMU's defaults; true when the note exists

kola_user_network() {
  KN_ADDR=10.0.2.15/24 KN_GW=10.0.2.2 KN_DNS=10.0.2.3
  [ -e "$KOLA_FW/opt/org.mantle-ts/user-network/raw" ] || return 1
  read -r KN_ADDR KN_GW KN_DNS _ <"$KOLA_FW/opt/org.mantle-ts/user-network/raw" || true
  [ -n "$KN_ADDR" ] && [ -n "$KN_GW" ]
}

# ---------------------------------------------------------------------------------------------------
# cloud-config (JSON rendering) and scripts

# one jq run turns the JSON into these calls, every argument @sh-quoted
KOLA_CC_JQ='
def s: if type == "string" then . elif . == null then "" else tojson end;
def q: s | @sh;
def note: "kola_note \(@sh)";
def known: ["ssh_authorized_keys", "hostname", "write_files", "runcmd", "users", "unknown_keys"];
if type != "object" then "kola_note \("cloud-config JSON is not an object, ignored" | @sh)" else
(.unknown_keys // [] | .[] | "kola_unknown_key \(q)"),
(keys_unsorted - known | .[] | "kola_unknown_key \(q)"),
(if (.hostname // "") != "" then "kola_hostname \(.hostname | q)" else empty end),
(.ssh_authorized_keys // [] | .[] | "kola_add_key core \(q)"),
(.users // [] | to_entries[] | .key as $i | .value |
  if type == "object" and ((.name // "") | type) == "string" and (.name // "") != "" then
    .name as $n |
    "kola_user \($n | q) \(.uid | q) \((.groups // "") | if type == "array" then map(s) | join(",") else s end | gsub(" "; "") | @sh) \(.shell | q) \(.primary_group | q) \(.gecos | q) \((.sudo // "") | if type == "array" then map(s) | join("\n") elif type == "boolean" then (if . then "ALL=(ALL) NOPASSWD:ALL" else "" end) else s end | @sh)",
    ((.ssh_authorized_keys // .["ssh-authorized-keys"] // []) | .[] | "kola_add_key \($n | q) \(q)"),
    (keys_unsorted - ["name", "uid", "groups", "shell", "primary_group", "gecos", "sudo", "ssh_authorized_keys", "ssh-authorized-keys", "lock_passwd", "lock-passwd"]
      | .[] | "users[\($i)] key \"\(.)\" is not supported, ignored" | note)
  elif . == "default" then empty
  else "users[\($i)] is not supported (only the default user and objects with a name), ignored" | note end),
(.write_files // [] | to_entries[] | .key as $i | .value |
  if type == "object" and (.path | type) == "string" then
    "kola_write_file \(.path | q) \(.encoding | q) \(.permissions | q) \(.owner | q) \(.append // false | tostring | @sh) \(.content | q)",
    (keys_unsorted - ["path", "content", "encoding", "permissions", "owner", "append"]
      | .[] | "write_files[\($i)] key \"\(.)\" is not supported, ignored" | note)
  else "write_files[\($i)] has no path, ignored" | note end),
(if ((.runcmd // []) | length) > 0 then
  "kola_runcmd \([.runcmd[] | if type == "array" then map(s | @sh) | join(" ") else s end] | join("\n") | @sh)"
 else empty end)
end'

# kola_lookup_user NAME: sets KU_UID KU_GID KU_HOME from /etc/passwd (no fork)
kola_lookup_user() {
  local _n _p _u _g _c _h _s
  while IFS=: read -r _n _p _u _g _c _h _s; do
    if [ "$_n" = "$1" ]; then
      KU_UID=$_u KU_GID=$_g KU_HOME=$_h
      return 0
    fi
  done </etc/passwd
  return 1
}

kola_group_exists() {
  local _gn _grest
  while IFS=: read -r _gn _grest; do
    [ "$_gn" = "$1" ] && return 0
  done </etc/group
  return 1
}

kola_hostname() {
  printf '%s\n' "$1" >/etc/hostname
  kola_log "hostname set to $1"
}

# kola_add_key USER KEY: appended to ~USER/.ssh/authorized_keys (700/600, owned by USER)
kola_add_key() {
  if ! kola_lookup_user "$1"; then
    kola_note "ssh key for unknown user \"$1\" ignored"
    return 0
  fi
  if [ ! -d "$KU_HOME/.ssh" ]; then
    mkdir -p "$KU_HOME/.ssh"
    chmod 700 "$KU_HOME/.ssh"
    chown "$KU_UID:$KU_GID" "$KU_HOME/.ssh"
  fi
  local _f=$KU_HOME/.ssh/authorized_keys _new=
  [ -e "$_f" ] || _new=1
  printf '%s\n' "$2" >>"$_f"
  if [ -n "$_new" ]; then
    chmod 600 "$_f"
    chown "$KU_UID:$KU_GID" "$_f"
  fi
  kola_log "ssh key added for $1"
}

# kola_user NAME UID GROUPS SHELL PRIMARY_GROUP GECOS SUDO
kola_user() {
  local _name=$1 _uid=$2 _groups=$3 _shell=$4 _pg=$5 _gecos=$6 _sudo=$7 _rest _g _rule
  if [ -n "$_groups" ]; then
    _rest=$_groups,
    while [ -n "$_rest" ]; do
      _g=${_rest%%,*}
      _rest=${_rest#*,}
      [ -z "$_g" ] || kola_group_exists "$_g" || groupadd "$_g" || kola_note "could not create group $_g"
    done
  fi
  if kola_lookup_user "$_name"; then
    [ -z "$_groups" ] || usermod -a -G "$_groups" "$_name" || kola_note "could not add $_name to $_groups"
    kola_log "user $_name exists; groups added"
  else
    set -- -m -p '*'
    [ -z "$_uid" ] || set -- "$@" -u "$_uid"
    [ -z "$_groups" ] || set -- "$@" -G "$_groups"
    [ -z "$_shell" ] || set -- "$@" -s "$_shell"
    [ -z "$_pg" ] || set -- "$@" -g "$_pg"
    [ -z "$_gecos" ] || set -- "$@" -c "$_gecos"
    if useradd "$@" "$_name"; then kola_log "user $_name created"; else kola_note "could not create user $_name"; fi
  fi
  if [ -n "$_sudo" ]; then
    if [ -d /etc/sudoers.d ]; then
      printf '%s\n' "$_sudo" | while IFS= read -r _rule; do
        [ -z "$_rule" ] || printf '%s %s\n' "$_name" "$_rule"
      done >>/etc/sudoers.d/90-kola-cloud-config
      chmod 440 /etc/sudoers.d/90-kola-cloud-config
    else
      kola_note "users: sudo for $_name is not supported on this image (no sudo), ignored"
    fi
  fi
}

# kola_write_file PATH ENCODING PERMISSIONS OWNER APPEND CONTENT
kola_write_file() {
  local _path=$1 _enc=$2 _perm=${3:-0644} _owner=$4 _append=$5 _content=$6 _dir _op
  case $_path in
    /*) ;;
    *)
      kola_note "write_files: path \"$_path\" is not absolute, ignored"
      return 0
      ;;
  esac
  _dir=${_path%/*}
  [ -d "${_dir:-/}" ] || mkdir -p "$_dir"
  _op='>'
  [ "$_append" = true ] && _op='>>'
  case $_enc in
    '' | text | plain) eval "printf '%s' \"\$_content\" $_op \"\$_path\"" ;;
    b64 | base64) eval "printf '%s' \"\$_content\" | base64 -d $_op \"\$_path\"" ;;
    gz+b64 | gzip+base64 | gz+base64 | gzip+b64) eval "printf '%s' \"\$_content\" | base64 -d | gzip -dc $_op \"\$_path\"" ;;
    *)
      kola_note "write_files: encoding \"$_enc\" of $_path is not supported, ignored"
      return 0
      ;;
  esac
  chmod "$_perm" "$_path" || kola_note "write_files: bad permissions \"$_perm\" for $_path"
  [ -z "$_owner" ] || chown "$_owner" "$_path" || kola_note "write_files: could not chown $_path to $_owner"
  kola_log "wrote $_path"
}

# runcmd: a shell script run once after boot (run-once: a oneshot unit, or the minimal image's rcS)
kola_runcmd() {
  printf '#!/bin/sh\n%s\n' "$1" >"$KOLA_STATE/runcmd"
  chmod 700 "$KOLA_STATE/runcmd"
  kola_log "runcmd will run once after boot"
}

kola_agent() {
  local _d=$KOLA_FW/opt/org.mantle-ts _code _first
  if [ -e "$_d/cloud-config.json/raw" ]; then
    kola_log "applying cloud-config (fw_cfg opt/org.mantle-ts/cloud-config.json)"
    if ! _code=$(jq -r "$KOLA_CC_JQ" "$_d/cloud-config.json/raw"); then
      kola_note "cloud-config JSON could not be read, ignored"
      return 0
    fi
    eval "$_code"
    kola_log "cloud-config applied"
  elif [ -e "$_d/user-data/raw" ]; then
    _first=
    IFS= read -r _first <"$_d/user-data/raw" || true
    case $_first in
      '#!'*)
        cp "$_d/user-data/raw" "$KOLA_STATE/user-script"
        chmod 700 "$KOLA_STATE/user-script"
        kola_log "user-data script (${_first}) will run once after boot"
        ;;
      '#cloud-config'*)
        kola_note "cloud-config given without its JSON rendering (fw_cfg opt/org.mantle-ts/cloud-config.json), ignored"
        ;;
      '') kola_note "user-data is empty, ignored" ;;
      *) kola_note "user-data not understood (first line: ${_first}), ignored" ;;
    esac
  fi
  return 0
}
