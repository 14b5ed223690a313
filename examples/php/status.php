<?php
// status.php?id=VIDEO - what the webhooks said of a video, as this site
// recorded them (webhook.php), and what vingest says now.

declare(strict_types=1);
require __DIR__ . '/lib.php';

$id = (string)($_GET['id'] ?? '');
header('Content-Type: application/json');
if (!valid_video_id($id)) {
    http_response_code(400);
    exit(json_encode(['error' => 'not a video id']) . "\n");
}
$log = data_dir('videos') . "/$id.log";
$events = [];
foreach (is_file($log) ? file($log, FILE_IGNORE_NEW_LINES) : [] as $line) {
    [$type, $eventId] = explode(' ', $line, 2);
    $events[] = ['type' => $type, 'id' => $eventId];
}
[$status, $video] = vingest('GET', '/v1/videos/' . rawurlencode($id));
echo json_encode([
    'id' => $id,
    'events' => $events,
    'status' => $status === 200 ? ($video['status'] ?? null) : null,
], JSON_UNESCAPED_SLASHES) . "\n";
