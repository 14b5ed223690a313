#!/usr/bin/env bash
# 42_schema: sql/schema.sql (the reference DBAs read) is exactly what the
# numbered migrations build, table by table and view by view; every table and
# column carries a COMMENT.
. "$(dirname "$0")/lib.sh"

a=vingest_schema_migrated
b=vingest_schema_reference
sql "DROP DATABASE IF EXISTS $a; DROP DATABASE IF EXISTS $b; CREATE DATABASE $a; CREATE DATABASE $b"
t_ok "migrations apply to an empty database" env VINGEST_DB_NAME=$a "$VINGEST_CTL" -c "$VINGEST_CONFIG" migrate
t_ok "sql/schema.sql applies to an empty database" \
	mariadb --no-defaults --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" "$b" -e "source $T_REPO/sql/schema.sql"
shape() { # the CREATE statements of db $1, without counters
	local db=$1 t
	for t in $(mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" "$db" -e 'SHOW FULL TABLES' | awk '{print $1}' | sort); do
		mariadb --no-defaults -N -B --socket="$VINGEST_DB_SOCKET" -u"$VINGEST_DB_USER" "$db" -e "SHOW CREATE TABLE \`$t\`" |
			cut -f2 | sed -e 's/ AUTO_INCREMENT=[0-9]*//' -e "s/\`$db\`\.//g"
	done
}
t_eq "schema.sql and the migrations build the same tables and views" "$(shape $b)" "$(shape $a)"
t_eq "every table has a COMMENT" \
	"$(sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '$a' AND table_type = 'BASE TABLE' AND table_comment = ''")" 0
t_eq "every column has a COMMENT" \
	"$(sql "SELECT COUNT(*) FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name WHERE c.table_schema = '$a' AND t.table_type = 'BASE TABLE' AND c.column_comment = ''")" 0
t_eq "the views exist" "$(sql "SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.views WHERE table_schema = '$a'")" v_dead_jobs,v_fleet,v_jobs_all,v_job_attempts_all,v_queue,v_webhook_deliveries
sql "DROP DATABASE $a; DROP DATABASE $b"
t_done
