<?php
// index.php - the upload page. The site's PHP asks vingest for a one-time
// upload URL with its key (POST /v1/upload-urls) and renders a page that
// knows only that URL: the key never reaches the browser. The page offers
// a plain form and, when tus.min.js is beside it, a resumable upload.

declare(strict_types=1);
require __DIR__ . '/lib.php';

$title = substr((string)($_GET['title'] ?? ''), 0, 200);
$request = ['expires_in' => 3600];
if ($title !== '') {
    $request['title'] = $title;
}
[$status, $grant] = vingest('POST', '/v1/upload-urls', $request);
if ($status !== 201 || !isset($grant['id'], $grant['url'], $grant['expires_at'])) {
    http_response_code(502);
    header('Content-Type: text/plain; charset=utf-8');
    $why = $grant['error']['message'] ?? 'no answer';
    exit("vingest did not hand out an upload URL ($status: $why)\n");
}
header('Content-Type: text/html; charset=utf-8');
header('Cache-Control: no-store'); // the page holds a one-time URL
$id = (string)$grant['id'];
$url = (string)$grant['url'];
?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Upload a video</title>
</head>
<body>
<h1>Upload a video</h1>
<p>This page can upload one video until <?= h((string)$grant['expires_at']) ?>.
Its id will be <code id="video-id"><?= h($id) ?></code>;
<a href="status.php?id=<?= h(rawurlencode($id)) ?>">its status</a>.</p>

<h2>With a plain form</h2>
<form id="plain" method="post" action="<?= h($url) ?>" enctype="multipart/form-data">
  <input type="file" name="file" accept="video/*" required>
  <button>Upload</button>
</form>

<h2>Resumably</h2>
<p><input type="file" id="resumable" accept="video/*"> <progress id="bar" max="100" value="0"></progress>
<span id="said"></span></p>
<script src="tus.min.js"></script>
<script>
  // tus-js-client (copy dist/tus.min.js beside this page): the upload URL
  // is a tus endpoint too; an interrupted upload resumes from its offset.
  const endpoint = <?= json_encode($url, JSON_UNESCAPED_SLASHES | JSON_HEX_TAG) ?>;
  document.getElementById("resumable").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file || typeof tus === "undefined") return;
    const say = (s) => { document.getElementById("said").textContent = s; };
    new tus.Upload(file, {
      endpoint, chunkSize: 8 << 20, retryDelays: [0, 1000, 3000, 5000],
      metadata: { filename: file.name, filetype: file.type },
      onProgress: (sent, total) => { document.getElementById("bar").value = 100 * sent / total; },
      onError: (err) => say("failed: " + err),
      onSuccess: () => say("uploaded"),
    }).start();
  });
</script>
</body>
</html>
