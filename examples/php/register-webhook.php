<?php
// register-webhook.php URL - run once from the command line: sets this
// site's webhook endpoint (PUT /v1/webhook) and prints the signing secret,
// which goes into VINGEST_WEBHOOK_SECRET. Run again, it changes the URL and
// keeps the secret (and prints nothing new); POST /v1/webhook/rotate makes
// a new one.

declare(strict_types=1);
require __DIR__ . '/lib.php';

if (PHP_SAPI !== 'cli' || $argc !== 2) {
    fwrite(STDERR, "usage: php register-webhook.php https://your.site/webhook.php\n");
    exit(2);
}
[$status, $answer] = vingest('PUT', '/v1/webhook', ['url' => $argv[1]]);
if ($status === 201) {
    echo $answer['secret'], "\n";
    exit(0);
}
if ($status === 200) {
    fwrite(STDERR, "the endpoint is now {$answer['url']}; its secret is unchanged\n");
    exit(0);
}
fwrite(STDERR, "vingest refused it ($status): " . ($answer['error']['message'] ?? 'no answer') . "\n");
exit(1);
