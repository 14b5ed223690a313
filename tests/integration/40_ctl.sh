#!/usr/bin/env bash
# 40_ctl: vingestctl migrate is idempotent, keys are shown once and stored only
# as hashes, and vingest-fcgi -t refuses a bad config naming file, key, reason.
. "$(dirname "$0")/lib.sh"

CTL=("$VINGEST_CTL" -c "$VINGEST_CONFIG")

# --- migrate (./dev up already ran it once)

applied=$(sql "SELECT COUNT(*) FROM schema_migrations")
t_lt "schema_migrations has the applied migrations" 0 "$applied"
for run in 1 2; do
	out=$("${CTL[@]}" migrate 2>&1)
	rc=$?
	t_eq "migrate run $run on an up-to-date schema exits 0" "$rc" 0
	t_match "migrate run $run says there is nothing to do" "$out" '[Nn]othing to do|[Uu]p[ -]to[ -]date'
	t_eq "migrate run $run leaves schema_migrations unchanged" \
		"$(sql "SELECT COUNT(*) FROM schema_migrations")" "$applied"
done

# --- users and keys

user="ctl-$$-$RANDOM"
t_ok "user add $user exits 0" "${CTL[@]}" user add "$user"
out=$("${CTL[@]}" user add "$user" 2>&1)
rc=$?
t_lt "user add of an existing name fails" 0 "$rc"
t_match "user add of an existing name says it exists" "$out" '[Ee]xist'

keyout=$T_TMP/key.out
"${CTL[@]}" key create "$user" >"$keyout" 2>"$T_TMP/key.err"
rc=$?
t_eq "key create exits 0" "$rc" 0
t_eq "key create prints exactly one line on stdout" "$(wc -l <"$keyout")" 1
key=$(head -n 1 "$keyout")
t_match "the key is one word of printable characters" "$key" '^[!-~]{20,}$'

# The key is not stored; its SHA-256 is, once.
qkey=$(sqlq "$key")
t_eq "api_keys holds SHA2(key) once" \
	"$(sql "SELECT COUNT(*) FROM api_keys WHERE key_hash = SHA2('$qkey', 256)")" 1
cols=$(sql "SELECT column_name FROM information_schema.columns
	WHERE table_schema = DATABASE() AND table_name = 'api_keys'")
found=0
for c in $cols; do
	n=$(sql "SELECT COUNT(*) FROM api_keys WHERE CAST(\`$c\` AS CHAR) LIKE CONCAT('%', '$qkey', '%')")
	((n > 0)) && found=$((found + 1)) && printf '#   column %s contains the key\n' "$c"
done
t_eq "no api_keys column contains the key itself" "$found" 0
t_eq "the users table does not contain the key either" \
	"$(sql "SELECT COUNT(*) FROM users WHERE name LIKE CONCAT('%', '$qkey', '%')")" 0

API_KEY=$key api GET /v1/videos
t_eq "the new key authenticates (GET /v1/videos answers 200)" "$API_STATUS" 200
API_KEY=$key api GET "/v1/videos?limit=1"
t_eq "the new user starts with no videos" "$(json '.videos | length')" 0

out=$("${CTL[@]}" key create "no-such-user-$$-$RANDOM" 2>&1)
rc=$?
t_lt "key create for an unknown user fails" 0 "$rc"

# --- vingest-fcgi -t

FCGI=$VINGEST_FCGI_BIN
t_ok "vingest-fcgi -t accepts the stack's config" "$FCGI" -c "$VINGEST_CONFIG" -t

bad=$T_TMP/bad.conf
sed 's/^processes *=.*/processes = abc/' "$VINGEST_CONFIG" >"$bad"
grep -q '^processes = abc' "$bad" || printf '[http]\nprocesses = abc\n' >>"$bad"
"$FCGI" -c "$bad" -t >"$T_TMP/t.out" 2>"$T_TMP/t.err"
rc=$?
err=$(cat "$T_TMP/t.err")
t_lt "vingest-fcgi -t refuses processes = abc (exit status)" 0 "$rc"
t_match "vingest-fcgi -t: the error names the file" "$err" "$bad"
t_match "vingest-fcgi -t: the error names the key" "$err" 'processes'
t_match "vingest-fcgi -t: the error gives the reason" "$err" "'abc' is not an integer"
printf '# stderr: %s\n' "$err"

VINGEST_HTTP_PROCESSES=0 "$FCGI" -c "$VINGEST_CONFIG" -t >"$T_TMP/t.out" 2>"$T_TMP/t.err"
rc=$?
err=$(cat "$T_TMP/t.err")
t_lt "vingest-fcgi -t refuses VINGEST_HTTP_PROCESSES=0 (exit status)" 0 "$rc"
t_match "VINGEST_HTTP_PROCESSES=0: the error names the variable" "$err" 'VINGEST_HTTP_PROCESSES'
t_match "VINGEST_HTTP_PROCESSES=0: the error gives the reason" "$err" 'out of range'
printf '# stderr: %s\n' "$err"

unknown=$T_TMP/unknown.conf
{
	cat "$VINGEST_CONFIG"
	printf '\n[http]\nprocesess = 4\n'
} >"$unknown"
"$FCGI" -c "$unknown" -t >/dev/null 2>"$T_TMP/t.err"
rc=$?
err=$(cat "$T_TMP/t.err")
t_lt "vingest-fcgi -t refuses a misspelt key" 0 "$rc"
t_match "misspelt key: the error names file, key and reason" "$err" "$unknown:[0-9]+:.*procesess.*unknown key"

t_done
