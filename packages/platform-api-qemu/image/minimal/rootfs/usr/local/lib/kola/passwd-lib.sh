# shellcheck shell=sh
# /etc/passwd, /etc/group and /etc/shadow edits for the minimal image, whose busybox has no
# adduser/addgroup/chpasswd. Sourced by minimal-bin/{useradd,usermod,groupadd}.

# pw_rewrite FILE AWK-PROGRAM [awk -v args...]: rewrite FILE in place (keeps its mode)
pw_rewrite() {
  _file=$1 _prog=$2
  shift 2
  awk -F: -v OFS=: "$@" "$_prog" "$_file" >"$_file.new" && cat "$_file.new" >"$_file" && rm -f "$_file.new"
}
pw_field() { # pw_field FILE NAME FIELD -> prints the field of the entry NAME
  awk -F: -v n="$2" -v f="$3" '$1 == n { print $f; found = 1 } END { exit !found }' "$1"
}
pw_next_id() { # pw_next_id FILE: first free id >= 1000 in field 3
  awk -F: 'BEGIN { n = 1000 } { used[$3] = 1 } END { while (n in used) n++; print n }' "$1"
}
pw_id_free() { ! awk -F: -v i="$2" '$3 == i { found = 1 } END { exit !found }' "$1"; }
pw_gid_of() { # group name or number -> gid
  case $1 in
    *[!0-9]*) pw_field /etc/group "$1" 3 ;;
    *) echo "$1" ;;
  esac
}
pw_add_member() { # pw_add_member GROUP USER
  pw_field /etc/group "$1" 1 >/dev/null || {
    echo "group '$1' does not exist" >&2
    return 6
  }
  pw_rewrite /etc/group '$1 == g { if ($4 == "") $4 = u; else if (index("," $4 ",", "," u ",") == 0) $4 = $4 "," u } { print }' -v g="$1" -v u="$2"
}
pw_set_password() { # pw_set_password USER HASH
  pw_rewrite /etc/shadow '$1 == u { $2 = p; found = 1 } { print } END { if (!found) print u, p, 19000, 0, 99999, 7, "", "", "" }' -v u="$1" -v p="$2"
}
pw_set_field() { # pw_set_field USER FIELD VALUE (/etc/passwd)
  pw_rewrite /etc/passwd '$1 == u { $f = v } { print }' -v u="$1" -v f="$2" -v v="$3"
}
