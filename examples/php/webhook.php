<?php
// webhook.php - receives vingest's webhook events. It checks the
// Vingest-Signature against the endpoint's secret before believing a byte,
// keeps each event once (vingest delivers at least once: a repeat has the
// same id), and answers 204 quickly; slow work belongs in a queue.

declare(strict_types=1);
require __DIR__ . '/lib.php';

header('Content-Type: text/plain; charset=utf-8');
if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    http_response_code(405);
    header('Allow: POST');
    exit("POST only\n");
}
$body = file_get_contents('php://input', false, null, 0, 1 << 20);
$signature = (string)($_SERVER['HTTP_VINGEST_SIGNATURE'] ?? '');
if (!is_string($body) || !signature_ok(setting('VINGEST_WEBHOOK_SECRET'), $signature, $body)) {
    http_response_code(400);
    exit("bad signature\n");
}
$event = json_decode($body, true);
$eventId = is_array($event) ? (string)($event['id'] ?? '') : '';
$type = is_array($event) ? (string)($event['type'] ?? '') : '';
$videoId = is_array($event) ? (string)($event['data']['id'] ?? '') : '';
if (!preg_match('/^evt_[0-9a-zA-Z_]{1,64}$/', $eventId) || !preg_match('/^video\.[a-z]{1,20}$/', $type)
    || !valid_video_id($videoId)) {
    http_response_code(400);
    exit("not an event this site knows\n");
}
// fopen 'x' fails if the file exists: a repeat is acknowledged, not redone.
$f = @fopen(data_dir('events') . "/$eventId.json", 'x');
if ($f === false) {
    http_response_code(200);
    exit("already had it\n");
}
fwrite($f, $body);
fclose($f);
file_put_contents(data_dir('videos') . "/$videoId.log", "$type $eventId\n", FILE_APPEND | LOCK_EX);
http_response_code(204);
