// The Chat page: model picker, streaming /api/chat with Stop, conversations in localStorage
// (sidebar with rename and delete), regenerate and edit-last, and per-answer speed figures.
import { api, getJson, ndjson } from './api.js';
import { renderMarkdown } from './markdown.js';
import * as store from './store.js';
import { $, el, banner } from './util.js';

let convs = store.loadConversations();
let current = convs.find((c) => c.id === store.currentId()) || null;
let streaming = null; // { controller, conv, msg }
const OPTS = ['temperature', 'num_ctx', 'seed', 'num_predict'];

export function initChat() {
  const settings = store.loadSettings();
  $('#opt-system').value = settings.system || '';
  $('#opt-format').value = settings.format || '';
  for (const k of OPTS) $(`#opt-${k}`).value = settings[k] ?? '';
  $('#settings').addEventListener('input', saveSettingsFromForm);
  $('#settings-btn').addEventListener('click', () => {
    const s = $('#settings');
    s.hidden = !s.hidden;
    $('#settings-btn').setAttribute('aria-expanded', String(!s.hidden));
  });
  $('#new-chat').addEventListener('click', () => { selectConversation(null); $('#input').focus(); closeSidebar(); });
  $('#menu-btn').addEventListener('click', () => $('#sidebar').classList.toggle('open'));
  $('#composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('#stop').addEventListener('click', stop);
  $('#input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && streaming) { e.preventDefault(); stop(); } });
  $('#model-select').addEventListener('change', () => {
    const s = store.loadSettings();
    s.model = $('#model-select').value;
    store.saveSettings(s);
    if (current && !streaming) { current.model = s.model; persist(); }
  });
  window.addEventListener('storage', (e) => {
    if (e.key === 'hearth.conversations' && !streaming) { convs = store.loadConversations(); renderSidebar(); }
  });
  renderSidebar();
  renderMessages();
}

function saveSettingsFromForm() {
  const s = store.loadSettings();
  s.system = $('#opt-system').value;
  s.format = $('#opt-format').value.trim();
  for (const k of OPTS) s[k] = $(`#opt-${k}`).value;
  store.saveSettings(s);
}

/** Fill the model picker from /api/tags. */
export async function loadModels() {
  const sel = $('#model-select');
  try {
    const { models } = await getJson('/api/tags');
    const want = current?.model || store.loadSettings().model || sel.value;
    sel.replaceChildren(...models.map((m) => el('option', { value: m.model || m.name, text: m.model || m.name })));
    const names = models.map((m) => m.model || m.name);
    sel.value = names.includes(want) ? want : (names.find((n) => n.startsWith('smollm2')) || names[0] || '');
  } catch (e) {
    if (e.status !== 401) banner(`Could not list models: ${e.message}`);
  }
}

function persist() {
  if (current) {
    current.updated = Date.now();
    if (!convs.includes(current)) convs.unshift(current);
  }
  convs.sort((a, b) => b.updated - a.updated);
  store.saveConversations(convs);
  store.setCurrentId(current?.id);
  renderSidebar();
}

function selectConversation(conv) {
  if (streaming) stop();
  current = conv;
  store.setCurrentId(conv?.id);
  if (conv?.model && [...$('#model-select').options].some((o) => o.value === conv.model)) $('#model-select').value = conv.model;
  renderSidebar();
  renderMessages();
}

const closeSidebar = () => $('#sidebar').classList.remove('open');

function renderSidebar() {
  const list = $('#conv-list');
  list.replaceChildren(...convs.map((c) => el('li', { class: c === current ? 'active' : '', dataset: { id: c.id } },
    el('button', { class: 'title', type: 'button', title: c.title, text: c.title, onclick: () => { selectConversation(c); closeSidebar(); } }),
    el('button', { class: 'act rename', type: 'button', title: 'Rename', 'aria-label': 'Rename', text: '\u270e', onclick: () => rename(c) }),
    el('button', { class: 'act delete', type: 'button', title: 'Delete', 'aria-label': 'Delete', text: '\u2715', onclick: () => remove(c) }),
  )));
}

function rename(c) {
  const t = prompt('Rename conversation', c.title);
  if (t && t.trim()) { c.title = t.trim(); store.saveConversations(convs); renderSidebar(); }
}

function remove(c) {
  if (!confirm(`Delete "${c.title}"?`)) return;
  if (c === current) selectConversation(null);
  convs = convs.filter((x) => x !== c);
  store.saveConversations(convs);
  renderSidebar();
}

function renderMessages() {
  const box = $('#messages');
  const msgs = current?.messages || [];
  box.replaceChildren(...msgs.map((m, i) => messageEl(m, i === msgs.length - 1)));
  if (!msgs.length) box.append(el('p', { class: 'muted empty', text: 'Pick a model and say something. Conversations stay in this browser.' }));
  box.scrollTop = box.scrollHeight;
}

/** One message bubble. Assistant text always goes through renderMarkdown (DOM nodes only). */
function messageEl(m, last) {
  const body = el('div', { class: 'body' });
  if (m.role === 'assistant') body.append(renderMarkdown(m.content));
  else body.textContent = m.content;
  const node = el('div', { class: `msg ${m.role}${m.error ? ' error' : ''}` }, body);
  if (m.error) body.append(el('div', { text: m.error }));
  const meta = el('div', { class: 'meta' });
  if (m.role === 'assistant' && m.stats) {
    const s = m.stats;
    if (s.eval_count && s.eval_duration) meta.append(el('span', { class: 'tps', text: `${(s.eval_count / (s.eval_duration / 1e9)).toFixed(1)} tokens/s` }));
    meta.append(el('span', { class: 'ttft', text: `TTFT ${Math.round(((s.load_duration || 0) + (s.prompt_eval_duration || 0)) / 1e6)} ms` }));
    meta.append(el('span', { class: 'tokens', text: `${s.prompt_eval_count ?? 0} in / ${s.eval_count ?? 0} out` }));
  }
  if (m.stopped) meta.append(el('span', { class: 'stopped', text: 'stopped' }));
  if (last && !streaming) {
    if (m.role === 'assistant') meta.append(el('button', { type: 'button', class: 'regenerate', text: 'Regenerate', onclick: regenerate }));
    if (m.role === 'assistant' || m.role === 'user') meta.append(el('button', { type: 'button', class: 'edit-last', text: 'Edit last message', onclick: editLast }));
  }
  if (meta.childNodes.length) node.append(meta);
  return node;
}

async function send() {
  if (streaming) return;
  const text = $('#input').value;
  if (!text.trim()) return;
  const model = $('#model-select').value;
  if (!model) { banner('No model to chat with: pull one on the Models page.'); return; }
  if (!current) current = store.newConversation(model);
  current.model = model;
  if (!current.messages.length || current.title === 'New chat') current.title = text.trim().split('\n')[0].slice(0, 48);
  current.messages.push({ role: 'user', content: text });
  $('#input').value = '';
  persist();
  await generate();
}

function regenerate() {
  if (streaming || !current) return;
  const msgs = current.messages;
  if (msgs.at(-1)?.role === 'assistant') msgs.pop();
  if (!msgs.length) return;
  current.model = $('#model-select').value || current.model;
  generate();
}

function editLast() {
  if (streaming || !current) return;
  const msgs = current.messages;
  const idx = msgs.map((m) => m.role).lastIndexOf('user');
  if (idx < 0) return;
  $('#input').value = msgs[idx].content;
  msgs.splice(idx);
  persist();
  renderMessages();
  $('#input').focus();
}

function requestBody(conv) {
  const s = store.loadSettings();
  const messages = [];
  if (s.system?.trim()) messages.push({ role: 'system', content: s.system });
  for (const m of conv.messages) if (!m.error) messages.push({ role: m.role, content: m.content });
  const options = {};
  for (const k of OPTS) {
    const v = s[k];
    if (v !== undefined && v !== '' && !isNaN(Number(v))) options[k] = Number(v);
  }
  const body = { model: conv.model, messages, stream: true, options };
  if (s.format) {
    if (s.format === 'json') body.format = 'json';
    else { try { body.format = JSON.parse(s.format); } catch { throw new Error('Format must be "json" or a JSON schema'); } }
  }
  return body;
}

async function generate() {
  const conv = current;
  let body;
  try { body = requestBody(conv); } catch (e) { banner(e.message); return; }
  const msg = { role: 'assistant', content: '' };
  conv.messages.push(msg);
  const controller = new AbortController();
  streaming = { controller, conv, msg };
  setBusy(true);
  renderMessages();
  const bubble = $('#messages').lastElementChild;
  const bodyEl = bubble.querySelector('.body');
  bodyEl.classList.add('typing');
  let scheduled = false;
  const paint = () => {
    scheduled = false;
    if (!bodyEl.isConnected) return;
    const box = $('#messages');
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    bodyEl.replaceChildren(renderMarkdown(msg.content));
    if (atBottom) box.scrollTop = box.scrollHeight;
  };
  try {
    const resp = await api('/api/chat', { method: 'POST', json: body, signal: controller.signal });
    for await (const chunk of ndjson(resp)) {
      if (chunk.error) throw new Error(chunk.error);
      if (chunk.message?.content) {
        msg.content += chunk.message.content;
        if (!scheduled) { scheduled = true; requestAnimationFrame(paint); }
      }
      if (chunk.done) {
        msg.stats = {
          eval_count: chunk.eval_count, eval_duration: chunk.eval_duration, prompt_eval_count: chunk.prompt_eval_count,
          prompt_eval_duration: chunk.prompt_eval_duration, load_duration: chunk.load_duration, total_duration: chunk.total_duration,
          done_reason: chunk.done_reason,
        };
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') msg.stopped = true;
    else msg.error = e.message || String(e);
  } finally {
    streaming = null;
    setBusy(false);
    conv.updated = Date.now();
    store.saveConversations(convs);
    if (conv === current) renderMessages();
    renderSidebar();
  }
}

function stop() {
  if (streaming) streaming.controller.abort();
}

function setBusy(busy) {
  $('#send').hidden = busy;
  $('#stop').hidden = !busy;
  document.body.classList.toggle('streaming', busy);
}
