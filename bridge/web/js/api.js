// Talking to the bridge: HTTP with the auth token, websockets that reconnect, alerts.

const params = new URLSearchParams(location.search);
if (params.get("token")) localStorage.setItem("hermesh.token", params.get("token"));

// The bridge's url root ("" or e.g. "/hermesh", from --url-root): this file is <root>/web/js/api.js, so the
// root is two folders up whatever page loaded it. Every API path the UI uses is taken from here.
export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

export function apiUrl(path) { return ROOT + path; }

export function token() { return localStorage.getItem("hermesh.token") || ""; }

// The role a JWT claims ("user" or "admin"; "" for a shared token or none). Read without checking the
// signature: it only spares a user token the admin-only requests the bridge would refuse anyway.
export function tokenRole() {
  const payload = token().split(".")[1];
  if (!payload) return "";
  try { return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))).user.role || ""; } catch { return ""; }
}

export class ApiError extends Error {
  constructor(status, text) { super(text || `HTTP ${status}`); this.status = status; }
}

function withToken(path) {
  if (!token()) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token());
}

// fetch wrapper: `as` = "json" | "text" | "blob"; errors become ApiError with the server's message.
export async function api(path, { method = "GET", body, type, accept = "application/json", as = "json" } = {}) {
  const headers = { Accept: accept };
  if (type) headers["Content-Type"] = type;
  if (token()) headers.Authorization = "Bearer " + token();
  const response = await fetch(apiUrl(path), { method, body, headers });
  if (!response.ok) {
    let text = await response.text();
    try { const parsed = JSON.parse(text); text = parsed.detail || parsed.error || parsed.message || text; } catch {}
    throw new ApiError(response.status, typeof text === "string" ? text : JSON.stringify(text));
  }
  if (as === "blob") return response.blob();
  const text = await response.text();
  if (as === "text") return text;
  try { return JSON.parse(text); } catch { return text; }
}

// A websocket that reconnects with backoff; onMessage(data, event). Returns a close() function.
export function socket(path, onMessage, { binaryType = "arraybuffer", onOpen } = {}) {
  let ws; let closed = false; let delay = 500;
  const url = () => (location.protocol === "https:" ? "wss://" : "ws://") + location.host + withToken(apiUrl(path));
  const connect = () => {
    ws = new WebSocket(url());
    ws.binaryType = binaryType;
    ws.onopen = () => { delay = 500; if (onOpen) onOpen(ws); };
    ws.onmessage = (event) => {
      let data = event.data;
      if (typeof data === "string") { try { data = JSON.parse(data); } catch {} }
      onMessage(data, event);
    };
    ws.onclose = () => { if (!closed) setTimeout(connect, delay = Math.min(delay * 2, 10000)); };
    ws.onerror = () => ws.close();
  };
  connect();
  return { close() { closed = true; ws.close(); }, send(data) { if (ws.readyState === 1) ws.send(data); }, get raw() { return ws; } };
}

export function showAlert(message, kind = "error") {
  const box = document.getElementById("alert");
  box.textContent = message;
  box.className = kind;
  box.hidden = !message;
  if (kind === "info") setTimeout(() => { if (box.textContent === message) box.hidden = true; }, 6000);
}

export function clearAlert() { showAlert(""); }

// Run an action with a busy button and errors shown in the alert box.
export async function busy(button, action) {
  const label = button.textContent;
  button.disabled = true;
  try { return await action(); }
  catch (err) { showAlert(err.message || String(err)); return undefined; }
  finally { button.disabled = false; button.textContent = label; }
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  return node;
}

// "sentences.ini, line 3, column 7: expected ')'" -> {file, line, column, message}
export function parseTemplateError(text) {
  const match = /([^\s,:]+\.ini)?,? ?line (\d+)(?:, column (\d+))?:\s*([\s\S]*)/.exec(text || "");
  if (!match) return null;
  return { file: match[1] || null, line: Number(match[2]), column: match[3] ? Number(match[3]) : null, message: match[4] };
}
