<?php
// lib.php - the example's few helpers: its settings, one call to the
// vingest API, and the webhook signature check. Plain PHP 8 with no
// extensions beyond the defaults (no curl extension, no framework).

declare(strict_types=1);

// Settings come from the environment (php-fpm: env[NAME] = value in the
// pool). VINGEST_API is where this site's PHP reaches vingest; the upload
// URL it hands to browsers is built by vingest from that request's host, or
// from vingest's http.public_url.
function setting(string $name, ?string $default = null): string
{
    $v = getenv($name);
    if ($v === false || $v === '') {
        if ($default === null) {
            http_response_code(500);
            exit("the example is not configured: $name is not set\n");
        }
        return $default;
    }
    return $v;
}

// One API call with the site's key: [status, decoded JSON or null].
function vingest(string $method, string $path, ?array $body = null): array
{
    $headers = ['Authorization: Bearer ' . setting('VINGEST_API_KEY')];
    $content = '';
    if ($body !== null) {
        $content = json_encode($body, JSON_THROW_ON_ERROR);
        $headers[] = 'Content-Type: application/json';
    }
    $headers[] = 'Content-Length: ' . strlen($content);
    $ctx = stream_context_create(['http' => [
        'method' => $method,
        'header' => implode("\r\n", $headers),
        'content' => $content,
        'ignore_errors' => true, // a 4xx is an answer to read, not a warning
        'timeout' => 10,
    ]]);
    $answer = @file_get_contents(rtrim(setting('VINGEST_API'), '/') . $path, false, $ctx);
    $status = 0;
    foreach ($http_response_header ?? [] as $line) {
        if (preg_match('{^HTTP/\S+ (\d{3})}', $line, $m)) {
            $status = (int)$m[1]; // the last status line wins (100 Continue)
        }
    }
    $json = is_string($answer) ? json_decode($answer, true) : null;
    return [$status, is_array($json) ? $json : null];
}

// Vingest-Signature: t=UNIX,v1=HEX[,v1=HEX] where each v1 is the hex
// HMAC-SHA256 of "t.body" under a secret (two during a rotation's grace).
// True when one matches and t is within $tolerance seconds of now.
function signature_ok(string $secret, string $header, string $body, int $tolerance = 300): bool
{
    if (strlen($header) > 1024) {
        return false;
    }
    $t = null;
    $sigs = [];
    foreach (explode(',', $header) as $part) {
        [$k, $v] = array_pad(explode('=', trim($part), 2), 2, '');
        if ($k === 't' && ctype_digit($v) && strlen($v) <= 12) {
            $t = $v;
        } elseif ($k === 'v1' && preg_match('/^[0-9a-f]{64}$/', $v)) {
            $sigs[] = $v;
        }
    }
    if ($t === null || !$sigs || abs(time() - (int)$t) > $tolerance) {
        return false;
    }
    $want = hash_hmac('sha256', $t . '.' . $body, $secret);
    foreach ($sigs as $sig) {
        if (hash_equals($want, $sig)) {
            return true;
        }
    }
    return false;
}

// Where the webhook receiver keeps what it was told, one file per event and
// one log per video (a real site would use its database).
function data_dir(string $sub): string
{
    $dir = rtrim(setting('EXAMPLE_DATA_DIR'), '/') . '/' . $sub;
    if (!is_dir($dir) && !mkdir($dir, 0770, true) && !is_dir($dir)) {
        http_response_code(500);
        exit("cannot create $dir\n");
    }
    return $dir;
}

function valid_video_id(string $id): bool
{
    return (bool)preg_match('/^[0-9A-Z]{26}$/', $id);
}

function h(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_HTML5, 'UTF-8');
}
