/**
 * The status page's document. Every value the server knows arrives later over the
 * stream and is put in with textContent by the script, so nothing here is built from
 * data and no string needs escaping.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KVRaft status</title>
<link rel="stylesheet" href="status-page.css">
<script src="status-page.js" defer></script>
</head>
<body data-connection="connecting">
<header>
  <h1>KVRaft status</h1>
  <span id="connection" role="status" aria-live="polite">connecting&hellip;</span>
</header>
<main id="clusters"><p class="empty">Waiting for the first view&hellip;</p></main>
<section id="changes">
  <h2>Recent changes <small>(newest first: elections, joins, members going silent)</small></h2>
  <ul id="history"></ul>
</section>
<noscript><p>This page follows the coordinator's event stream with JavaScript. Without it, GET /v1/cluster answers the view as JSON.</p></noscript>
</body>
</html>
`;
