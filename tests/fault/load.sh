#!/usr/bin/env bash
# load.sh N PARALLEL LOG - N uploads, PARALLEL at a time, each a distinct real
# MP4 (clip-2s.mp4 plus random bytes in a trailing `free` box, so every
# upload has its own SHA-256), half multipart and half tus (a creation and
# two PATCHes: one acknowledged alone, one ending the upload). Appends one line
# per upload to LOG, the client's record of what happened:
#
#   <http status> <video id or -> <sha256 of the bytes sent> <kind> ra=<Retry-After or -> code=<error.code or ->
#
# A 201 (or 204 ending a tus upload) is an acknowledgement: the checker holds
# vingest to every one of them. Anything else promised nothing.
set -uo pipefail
n=$1 par=$2 log=$3
: "${VINGEST_URL:?}" "${VINGEST_API_KEY:?}"
here=$(cd "$(dirname "$0")" && pwd)
fix=$here/../fixtures/clip-2s.mp4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vingest-load.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

one() { # one upload: index
	local i=$1 f=$tmp/u$1.mp4 pad sha out code id kind loc size ra ecode
	pad=$((2000 + RANDOM % 30000))
	{
		cat "$fix"
		local b=$((pad + 8))
		# shellcheck disable=SC2059 # the format is the bytes
		printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((b >> 24 & 255)) $((b >> 16 & 255)) $((b >> 8 & 255)) $((b & 255)))"
		printf 'free'
		head -c "$pad" /dev/urandom
	} >"$f"
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	size=$(stat -c %s "$f")
	if ((i % 2 == 0)); then
		kind=multipart
		out=$(curl -s -m 30 -D "$tmp/h$i" -o "$tmp/b$i" -w '%{http_code}' -H "Authorization: Bearer $VINGEST_API_KEY" \
			-F "file=@$f;type=video/mp4" "$VINGEST_URL/v1/videos") || out=000
		code=$out
		id=$(jq -r '.id // "-"' "$tmp/b$i" 2>/dev/null || echo -)
	else
		kind=tus
		code=000
		id=-
		loc=$(curl -s -m 30 -D - -o /dev/null -X POST -H "Authorization: Bearer $VINGEST_API_KEY" \
			-H "Tus-Resumable: 1.0.0" -H "Upload-Length: $size" -H "Content-Length: 0" \
			"$VINGEST_URL/v1/uploads" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
		if [[ -n $loc ]]; then
			# Two PATCHes: the first is acknowledged on its own (fsync, the
			# offset's COMMIT), the second ends the upload (publish, COMMIT).
			half=$((size / 2))
			head -c "$half" "$f" >"$f.1"
			tail -c +"$((half + 1))" "$f" >"$f.2"
			out=$(curl -s -m 30 -D "$tmp/h$i" -o "$tmp/b$i" -w '%{http_code}' -X PATCH \
				-H "Authorization: Bearer $VINGEST_API_KEY" -H "Tus-Resumable: 1.0.0" \
				-H "Content-Type: application/offset+octet-stream" -H "Upload-Offset: 0" \
				--data-binary "@$f.1" "$VINGEST_URL$loc") || out=000
			if [[ $out == 204 ]]; then
				out=$(curl -s -m 30 -D "$tmp/h$i" -o "$tmp/b$i" -w '%{http_code}' -X PATCH \
					-H "Authorization: Bearer $VINGEST_API_KEY" -H "Tus-Resumable: 1.0.0" \
					-H "Content-Type: application/offset+octet-stream" -H "Upload-Offset: $half" \
					--data-binary "@$f.2" "$VINGEST_URL$loc") || out=000
			fi
			rm -f -- "$f.1" "$f.2"
			code=$out
			id=${loc##*/} # a tus upload becomes the video of the same id
		fi
	fi
	rm -f -- "$f"
	ra=$(tr -d '\r' 2>/dev/null <"$tmp/h$i" | sed -n 's/^[Rr]etry-[Aa]fter: *//p' | tail -n 1)
	ecode=$(jq -r '.error.code // "-"' "$tmp/b$i" 2>/dev/null)
	echo "$code $id $sha $kind ra=${ra:--} code=${ecode:--}"
}
export -f one
export tmp fix VINGEST_URL VINGEST_API_KEY
seq 1 "$n" | xargs -P "$par" -I{} bash -c 'one {}' >>"$log"
