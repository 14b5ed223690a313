<?php
// upload.php - the LAMP baseline: what a PHP shop would write instead of
// vingest, doing the same durable work for each upload so the comparison is
// fair: authenticate the API key (hashed, looked up in MariaDB), take the
// `file` part PHP has already parsed to its upload_tmp_dir, check it is a
// video (finfo), hash it (SHA-256), move it into the store, fsync it, and
// insert the video row and its job row in one transaction. Answers 201 with
// the video as JSON.
//
// The store and PHP's upload_tmp_dir are on the same filesystem, so
// move_uploaded_file is a rename. PHP cannot fsync a directory, so the
// rename itself is not made durable (vingest fsyncs the directory too): the
// baseline does a little less than vingest here, not more.
//
// Configured by php-fpm's environment (bench/php/php-fpm.conf):
// BENCH_DB_SOCKET, BENCH_DB_NAME, BENCH_STORE.

function fail(int $status, string $code, string $message): void
{
	http_response_code($status);
	header('Content-Type: application/json; charset=utf-8');
	echo json_encode(['error' => ['code' => $code, 'message' => $message]]), "\n";
	exit;
}

if ($_SERVER['REQUEST_METHOD'] !== 'POST')
	fail(405, 'method_not_allowed', 'POST a multipart form');
if (!preg_match('/^Bearer ([A-Za-z0-9._~+\/=-]{1,200})$/', $_SERVER['HTTP_AUTHORIZATION'] ?? '', $m))
	fail(401, 'unauthorized', 'Authorization: Bearer KEY');

// A persistent connection per php-fpm child, as a tuned LAMP install has.
$db = new PDO('mysql:unix_socket=' . getenv('BENCH_DB_SOCKET') . ';dbname=' . getenv('BENCH_DB_NAME') . ';charset=utf8mb4',
	'root', '', [PDO::ATTR_PERSISTENT => true, PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$st = $db->prepare('SELECT user_id FROM api_keys WHERE key_hash = ?');
$st->execute([hash('sha256', $m[1])]);
$user = $st->fetchColumn();
if ($user === false)
	fail(401, 'unauthorized', 'unknown API key');

$f = $_FILES['file'] ?? null;
if (!is_array($f) || !is_string($f['tmp_name']) || $f['error'] !== UPLOAD_ERR_OK)
	fail(400, 'bad_request', 'one file part named "file" is required');
$type = (new finfo(FILEINFO_MIME_TYPE))->file($f['tmp_name']);
if (!in_array($type, ['video/mp4', 'video/quicktime', 'video/webm', 'video/x-matroska'], true))
	fail(415, 'unsupported_media_type', "not a supported video ($type)");

$sha256 = hash_file('sha256', $f['tmp_name']);
$id = strtoupper(bin2hex(random_bytes(13)));
$key = 'videos/' . substr($id, -2) . '/' . $id;
$path = getenv('BENCH_STORE') . '/' . $key;
if (!is_dir(dirname($path)))
	@mkdir(dirname($path), 0755, true);
if (!move_uploaded_file($f['tmp_name'], $path))
	fail(500, 'store_failed', 'could not store the file');
$fh = fopen($path, 'r');
if ($fh === false || !fsync($fh))
	fail(500, 'store_failed', 'could not fsync the file');
fclose($fh);

$db->beginTransaction();
$db->prepare('INSERT INTO videos (id, user_id, object_key, size_bytes, sha256, content_type, filename, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))')
	->execute([$id, $user, $key, $f['size'], $sha256, $type, $f['name']]);
$db->prepare('INSERT INTO jobs (video_id, run_after, created_at) VALUES (?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))')
	->execute([$id]);
$db->commit();

http_response_code(201);
header('Content-Type: application/json; charset=utf-8');
header("Location: /v1/videos/$id");
echo json_encode(['id' => $id, 'status' => 'queued', 'size' => $f['size'], 'sha256' => $sha256,
	'content_type' => $type, 'filename' => $f['name']]), "\n";
