"""Offline API documentation: the OpenAPI description text and a small self-contained HTML page.

FastAPI's default /docs loads Swagger UI from a CDN, which an offline assistant cannot reach; this page reads
/openapi.json and renders every operation with a form to try it, with no external resources.
"""

OPENAPI_DESCRIPTION = """
Rhasspy 2.5 compatible HTTP and websocket API of Hermesh, plus Hermesh's runtime API.

**Authentication**: when `bridge.auth_token` or `bridge.jwt_secret` is set, every `/api/*` request and websocket
needs `?token=<token>` or `Authorization: Bearer <token>`. JWTs are HS256 with `{"user": {"username": ...,
"role": "admin" | "user"}}`; a `user` may only make requests for the site named by its username.

**Errors** are plain text with a 4xx/5xx status (503 names a service that is not running or did not answer).

**Browsers**: the `Host` header must be an IP address, `localhost`, this machine's name or a name in
`bridge.allowed_hosts` (else 403). POST/PUT/PATCH/DELETE and websockets with an `Origin` other than the bridge
itself or `bridge.cors_origins` get 403; CORS headers are sent to listed origins only. Clients without `Origin`
(curl, Home Assistant, rhasspy-client) are unaffected. Bad tokens: after `bridge.login_attempts_threshold` from one
address it gets 429 for `bridge.login_ban_seconds`.

**Bodies and limits**: JSON endpoints want `Content-Type: application/json` (415 otherwise); JSON nests at most
64 levels (400). A text to recognise or speak has at most 10,000 characters (413). Timeouts are more than 0 and at
most 3600 seconds; volumes are from 0 to 1; site ids have no `/`, `+`, `#` and at most 64 characters (400).

**URL root**: with `hermesh bridge --url-root /prefix` (`bridge.url_root`) every path here, the websockets and the
web UI are under `/prefix` (this document's `servers` entry); other paths are a 404.

**Settings**: unknown keys are a 422 naming them. Settings that run programs (any `*.command`, argv lists, engines
given as class paths) change over HTTP only with an admin token (403 otherwise: set them in profile.json on disk);
paths written over HTTP must stay inside the profile (400).

**Websockets** (not listed as operations by OpenAPI):

* `GET /api/events/intent` - one JSON text frame per recognised or unrecognised intent: the Rhasspy intent
  dict plus exactly `siteId`, `sessionId`, `customData`, `wakewordId`, `lang`.
* `GET /api/events/text` - `{"text", "siteId", "sessionId", "wakewordId", "lang"}` per transcription.
* `GET /api/events/wake` - `{"wakewordId", "siteId", "modelId", "lang"}` per wake word detection.
* `GET /api/events/log` - the bridge's log lines as text frames.
* `GET /api/events/audiosummary` - `{"current_energy", "max_energy", "min_energy", "max_current_ratio"}` per
  microphone level summary while `POST /api/audio-summaries` is `on`.
* `GET /api/mqtt` - send `{"type": "subscribe", "topic": "hermes/intent/#"}` or
  `{"type": "publish", "topic": "...", "payload": <JSON>}`; receive `{"topic", "payload"}` for JSON messages.
  Binary (audio) messages are never sent and never close the socket.
* `GET /api/mqtt/<topic>` - the same frames for one topic filter (escape `#` as `%23`, `+` as `%2B`).
* `GET /api/audio?siteId=<site>` - **browser audio**: the client becomes a site of its own. Send binary frames
  of raw 16 kHz 16-bit mono little-endian PCM (any length; they are re-chunked into 1024-sample
  `hermes/audioServer/<site>/audioFrame` WAVs). The server sends, for every sound played on that site
  (`playBytes`), a text frame `{"type": "play", "id", "siteId", "seconds"}` followed by one binary frame with
  the complete WAV file. The client may answer `{"type": "playFinished", "id"}` once it has played it; otherwise
  the bridge reports `playFinished` after the sound's duration. A first text frame `{"type": "hello", "siteId"}`
  tells the client its site id. Optional client text frames: `{"type": "wake"}` (start a voice command as if the
  wake word was heard).
"""

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hermesh HTTP API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1em;color:#222}
h1{font-size:1.4em} .op{border:1px solid #ccc;border-radius:6px;margin:.5em 0}
.op summary{cursor:pointer;padding:.4em .6em;font-family:monospace}
.m{display:inline-block;width:4.5em;font-weight:bold} .GET{color:#06c} .POST{color:#080} .PATCH{color:#a60}
.DELETE{color:#c00} .op div{padding:.4em .8em} textarea{width:100%;height:6em;font-family:monospace}
pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;max-height:20em;overflow:auto}
input{font-family:monospace} #desc{white-space:pre-wrap;background:#fafafa;padding:.5em;border-radius:6px}
</style></head><body>
<h1>Hermesh HTTP API</h1>
<p>Offline documentation generated from <a href="__ROOT__/openapi.json">__ROOT__/openapi.json</a>.
Token (if the bridge requires one): <input id="token" size="40" placeholder="token or JWT"></p>
<div id="desc"></div><div id="ops">Loading...</div>
<script>
async function load(){
  const spec = await (await fetch('__ROOT__/openapi.json')).json();
  const base = (spec.servers && spec.servers.length) ? spec.servers[0].url : '';  // the url root, if any
  document.getElementById('desc').textContent = spec.info.description || '';
  const ops = document.getElementById('ops'); ops.textContent = '';
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const d = document.createElement('details'); d.className = 'op';
      const M = method.toUpperCase();
      d.innerHTML = `<summary><span class="m ${M}">${M}</span>${path} - <i></i></summary><div></div>`;
      d.querySelector('i').textContent = op.summary || '';
      const body = d.querySelector('div');
      const params = (op.parameters || []).map(p => p.name);
      const reqTypes = Object.keys((op.requestBody || {}).content || {});
      const resTypes = Object.keys(((op.responses || {})['200'] || {}).content || {});
      const info = document.createElement('p');
      info.textContent = (op.description || '') + (params.length ? '\\nQuery: ' + params.join(', ') : '') +
        (reqTypes.length ? '\\nBody: ' + reqTypes.join(', ') : '') + '\\nResponse: ' + resTypes.join(', ');
      info.style.whiteSpace = 'pre-wrap'; body.appendChild(info);
      const url = document.createElement('input'); url.size = 60; url.value = base + path; body.appendChild(url);
      let ta = null, file = null;
      if (reqTypes.length) {
        if (reqTypes[0].startsWith('audio/') || reqTypes[0].startsWith('multipart/')) {
          file = document.createElement('input'); file.type = 'file'; body.appendChild(file);
        } else { ta = document.createElement('textarea'); body.appendChild(ta); }
      }
      const btn = document.createElement('button'); btn.textContent = 'Send'; body.appendChild(btn);
      const out = document.createElement('pre'); body.appendChild(out);
      btn.onclick = async () => {
        const headers = {}; const tok = document.getElementById('token').value;
        if (tok) headers['Authorization'] = 'Bearer ' + tok;
        let data = undefined;
        if (ta) { data = ta.value; headers['Content-Type'] = reqTypes[0]; }
        if (file && file.files.length) {
          if (reqTypes[0].startsWith('multipart/')) { data = new FormData(); data.append('archive', file.files[0]); }
          else { data = file.files[0]; headers['Content-Type'] = reqTypes[0]; }
        }
        try {
          const r = await fetch(url.value, {method: M, headers, body: data});
          const type = r.headers.get('content-type') || '';
          if (type.startsWith('audio/')) {
            const a = new Audio(URL.createObjectURL(await r.blob())); a.play(); out.textContent = r.status + ' (audio)';
          } else { out.textContent = r.status + ' ' + type + '\\n' + await r.text(); }
        } catch (e) { out.textContent = String(e); }
      };
      ops.appendChild(d);
    }
  }
}
load();
</script></body></html>
"""


def docs_html(root: str) -> str:
    """The page for a bridge under ``root`` ('' or a validated prefix such as /hermesh: safe in HTML and JS)."""
    return DOCS_HTML.replace("__ROOT__", root)
