// Same-origin calls to the API: the bearer key from sessionStorage, Ollama's JSON errors turned
// into exceptions, NDJSON streams read line by line, and the API-key prompt on a 401.
import { $, banner } from './util.js';

const KEY = 'hearth.apiKey';

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export const apiKey = () => sessionStorage.getItem(KEY) || '';

let asking = null;
/** Ask for the API key (once at a time); resolves when one was entered. */
export function askKey(wrong) {
  if (asking) return asking;
  const dlg = $('#key-dialog');
  $('#key-message').textContent = wrong
    ? '401 Unauthorized: the server refused this API key. Enter the right one.'
    : 'This server requires an API key (HEARTH_API_KEY). It is kept in this tab only (sessionStorage) and sent as a bearer token.';
  $('#key-input').value = '';
  asking = new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      const k = $('#key-input').value.trim();
      asking = null;
      if (k) sessionStorage.setItem(KEY, k);
      resolve(!!k);
      if (k) window.dispatchEvent(new Event('hearth:auth'));
    }, { once: true });
  });
  if (!dlg.open) dlg.showModal();
  return asking;
}

/** fetch() with the key; `json` becomes the body. Throws ApiError on a non-2xx answer. */
export async function api(path, { json, ...opts } = {}) {
  const headers = new Headers(opts.headers || {});
  const k = apiKey();
  if (k) headers.set('Authorization', `Bearer ${k}`);
  if (json !== undefined) {
    headers.set('Content-Type', 'application/json');
    opts.body = JSON.stringify(json);
  }
  const resp = await fetch(path, { ...opts, headers });
  if (resp.status === 401) {
    const msg = k ? '401 Unauthorized: the API key was refused' : '401 Unauthorized: this server needs an API key';
    banner(msg, 0);
    askKey(!!k);
    throw new ApiError(401, msg);
  }
  if (!resp.ok) {
    let msg = '';
    try { const t = await resp.text(); try { msg = JSON.parse(t).error?.message ?? JSON.parse(t).error; } catch { msg = t; } } catch { /* empty */ }
    throw new ApiError(resp.status, `${resp.status}: ${msg || resp.statusText}`);
  }
  return resp;
}

export const getJson = async (path) => (await api(path)).json();
export const postJson = async (path, json) => (await api(path, { method: 'POST', json })).json();

/** The objects of an NDJSON response body, one per line, as they arrive. */
export async function* ndjson(resp) {
  const reader = resp.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield JSON.parse(line);
    }
  }
  if (buf.trim()) yield JSON.parse(buf);
}
