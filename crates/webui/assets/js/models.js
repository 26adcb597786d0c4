// The Models page: the list with details from /api/show, pull with a progress bar from the
// streamed /api/pull status lines, delete (confirmed), copy, and the loaded models from /api/ps
// with their expiry and an Unload button.
import { api, getJson, ndjson, postJson } from './api.js';
import { loadModels as refreshPicker } from './chat.js';
import { $, el, banner, bytes, duration } from './util.js';

export function initModels() {
  $('#models-refresh').addEventListener('click', refreshModels);
  $('#ps-refresh').addEventListener('click', refreshPs);
  $('#pull-form').addEventListener('submit', (e) => { e.preventDefault(); pull(); });
}

export function showModels() {
  refreshModels();
  refreshPs();
}

function contextLength(show) {
  const info = show.model_info || {};
  const key = Object.keys(info).find((k) => k.endsWith('.context_length'));
  return key ? info[key] : '';
}

export async function refreshModels() {
  const tbody = $('#models-table tbody');
  let models;
  try { ({ models } = await getJson('/api/tags')); } catch (e) { if (e.status !== 401) banner(`Could not list models: ${e.message}`); return; }
  const rows = models.map((m) => {
    const name = m.model || m.name;
    const ctx = el('td', { class: 'ctx' });
    const caps = el('td', { class: 'caps' });
    const tr = el('tr', { dataset: { model: name } },
      el('td', { class: 'name', text: name }),
      el('td', { text: bytes(m.size) }),
      el('td', { text: m.details?.family || '' }),
      el('td', { text: m.details?.quantization_level || '' }),
      ctx, caps,
      el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'copy', text: 'Copy', onclick: () => copy(name) }),
        el('button', { type: 'button', class: 'delete danger', text: 'Delete', onclick: () => remove(name) })));
    postJson('/api/show', { model: name }).then((s) => {
      ctx.textContent = contextLength(s);
      caps.replaceChildren(...(s.capabilities || []).map((c) => el('span', { class: 'cap', text: c })));
    }).catch(() => { ctx.textContent = '?'; });
    return tr;
  });
  tbody.replaceChildren(...rows);
}

export async function refreshPs() {
  const tbody = $('#ps-table tbody');
  let models;
  try { ({ models } = await getJson('/api/ps')); } catch (e) { if (e.status !== 401) banner(`Could not read /api/ps: ${e.message}`); return; }
  $('#ps-empty').hidden = models.length > 0;
  tbody.replaceChildren(...models.map((m) => el('tr', { dataset: { model: m.model || m.name } },
    el('td', { class: 'name', text: m.model || m.name }),
    el('td', { text: bytes(m.size) }),
    el('td', { text: m.context_length ?? '' }),
    el('td', { class: 'expires', title: m.expires_at, text: `in ${duration(Date.parse(m.expires_at) - Date.now())}` }),
    el('td', { class: 'actions' }, el('button', { type: 'button', class: 'unload', text: 'Unload', onclick: () => unload(m.model || m.name) })))));
}

async function unload(model) {
  try {
    await postJson('/api/generate', { model, keep_alive: 0 });
  } catch (e) { banner(`Unload failed: ${e.message}`); }
  refreshPs();
}

async function remove(model) {
  if (!confirm(`Delete ${model}? Its files are removed from the store.`)) return;
  try {
    await api('/api/delete', { method: 'DELETE', json: { model } });
  } catch (e) { banner(`Delete failed: ${e.message}`); }
  refreshModels();
  refreshPicker();
}

async function copy(source) {
  const destination = prompt(`Copy ${source} to a new name:`, `${source.split(':')[0]}-copy`);
  if (!destination || !destination.trim()) return;
  try {
    await api('/api/copy', { method: 'POST', json: { source, destination: destination.trim() } });
  } catch (e) { banner(`Copy failed: ${e.message}`); }
  refreshModels();
  refreshPicker();
}

async function pull() {
  const name = $('#pull-name').value.trim();
  if (!name) return;
  const bar = $('#pull-progress');
  const pct = $('#pull-percent');
  const status = $('#pull-status');
  $('#pull-box').hidden = false;
  $('#pull-btn').disabled = true;
  bar.value = 0;
  pct.textContent = '0 %';
  status.textContent = 'starting…';
  // Bytes per layer, so the bar covers the whole model, not one blob at a time.
  const layers = new Map();
  try {
    const resp = await api('/api/pull', { method: 'POST', json: { model: name, insecure: $('#pull-insecure').checked, stream: true } });
    for await (const line of ndjson(resp)) {
      if (line.error) throw new Error(line.error);
      if (line.digest && line.total) layers.set(line.digest, { total: line.total, completed: line.completed || 0 });
      const total = [...layers.values()].reduce((a, l) => a + l.total, 0);
      const done = [...layers.values()].reduce((a, l) => a + l.completed, 0);
      if (total) {
        const p = Math.min(100, Math.floor((done / total) * 100));
        bar.value = p;
        pct.textContent = `${p} %`;
      }
      status.textContent = line.digest ? `${line.status} (${bytes(line.completed || 0)} of ${bytes(line.total)})` : line.status;
      if (line.status === 'success') {
        bar.value = 100;
        pct.textContent = '100 %';
      }
    }
  } catch (e) {
    status.textContent = `error: ${e.message}`;
    banner(`Pull failed: ${e.message}`);
  } finally {
    $('#pull-btn').disabled = false;
    refreshModels();
    refreshPicker();
  }
}
